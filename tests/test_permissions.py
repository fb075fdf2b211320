"""The permission matrix: each role × each service action × own board / another board."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from cases import models as m
from cases import permissions
from cases.services import cases, decisions, followups, imaging, meetings, opinions, pathology, workflow
from tests import factories as f

PERSONAS = ["coordinator", "chair", "radiologist", "pathologist", "orthopaedic", "outsider"]
PLAN = [{"category": "surveillance", "detail": ""}]


def patient_create(ctx, user):
    cases.patient_create(
        board=ctx["board"],
        by=user,
        mrn=f"P-{user.pk}",
        given_name="A",
        family_name="B",
        birth_date=date(1980, 1, 1),
        sex="female",
    )


def case_create(ctx, user):
    cases.case_create(patient=ctx["case"].patient, board=ctx["board"], by=user, clinical_question="Q")


def case_update(ctx, user):
    cases.case_update(case=ctx["case"], by=user, key_labs="Calcium 2.6 mmol/L")


def case_transition(ctx, user):
    workflow.case_transition(case=ctx["case"], to="imaging", by=user)


def imaging_add(ctx, user):
    imaging.imaging_study_add(
        case=ctx["case"],
        by=user,
        modality="CT",
        body_site="Chest",
        performed_on=timezone.localdate(),
        impression="Clear.",
    )


def pathology_add(ctx, user):
    pathology.pathology_report_add(
        case=ctx["case"], by=user, specimen="s", procedure="p", collected_on=timezone.localdate(), diagnosis="d"
    )


def pathology_amend(ctx, user):
    pathology.pathology_report_amend(
        report=ctx["report"], by=user, diagnosis="d2", amendment_reason="r", discrepancy="minor"
    )


def opinion_record(ctx, user):
    opinions.opinion_record(case=ctx["case"], by=user, assessment="My view.")


def meeting_schedule(ctx, user):
    meetings.meeting_schedule(board=ctx["board"], by=user, starts_at=timezone.now() + timedelta(days=1), location="R")


def agenda_add(ctx, user):
    meetings.agenda_add(meeting=ctx["meeting"], case=ctx["case"], by=user)


def attendance_record(ctx, user):
    meetings.attendance_record(meeting=ctx["meeting"], by=user, user=ctx["chair"])


def decision_record(ctx, user):
    decisions.decision_record(case=ctx["case"], by=user, meeting=ctx["meeting"], consensus_diagnosis="x", plan=PLAN)


def decision_sign(ctx, user):
    decisions.decision_sign(decision=ctx["draft"], by=user)


def follow_up_apply_template(ctx, user):
    template = m.FollowUpTemplate.objects.get(code="osteosarcoma-treated")
    followups.follow_up_apply_template(case=ctx["case"], template=template, by=user, start_on=timezone.localdate())


MATRIX = {
    patient_create: {"coordinator"},
    case_create: {"coordinator"},
    case_update: {"coordinator"},
    case_transition: {"coordinator", "chair"},
    imaging_add: {"radiologist"},
    pathology_add: {"pathologist"},
    pathology_amend: {"pathologist"},
    opinion_record: {"chair", "radiologist", "pathologist", "orthopaedic"},
    meeting_schedule: {"coordinator", "chair"},
    agenda_add: {"coordinator", "chair"},
    attendance_record: {"coordinator", "chair"},
    decision_record: {"coordinator", "chair"},
    decision_sign: {"chair"},
    follow_up_apply_template: {"coordinator", "chair"},
}


@pytest.fixture
def ctx(request, board, coordinator, chair, specialists, outsider, quorate_meeting, make_case):
    consensus_case = make_case("consensus")
    f.on_agenda(quorate_meeting, consensus_case)
    draft = m.Decision.objects.create(
        case=consensus_case, meeting=quorate_meeting, consensus_diagnosis="x", plan=PLAN, recorded_by=coordinator
    )
    case = make_case("intake")
    return {
        "board": board,
        "case": case,
        "report": make_case("pathology").pathology_reports.get(),
        "meeting": quorate_meeting,
        "consensus_case": consensus_case,
        "draft": draft,
        "chair": chair,
        "users": {
            "coordinator": coordinator,
            "chair": chair,
            "outsider": outsider,
            **{
                "radiologist": specialists["radiology"],
                "pathologist": specialists["pathology"],
                "orthopaedic": specialists["orthopaedic_oncology"],
            },
        },
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(MATRIX), ids=lambda fn: fn.__name__)
def test_the_permission_matrix_on_the_users_own_board(action, persona, ctx):
    user = ctx["users"][persona]
    if persona == "outsider":
        with pytest.raises(Http404):
            action(ctx, user)
    elif persona in MATRIX[action]:
        action(ctx, user)
    else:
        with pytest.raises(PermissionDenied):
            action(ctx, user)


@pytest.mark.parametrize("persona", ["coordinator", "chair", "radiologist", "pathologist"])
@pytest.mark.parametrize("action", list(MATRIX), ids=lambda fn: fn.__name__)
def test_nobody_acts_on_a_board_they_do_not_belong_to(action, persona, ctx, other_board):
    """The same actions, by this board's members, on another board's objects: always 'not found'."""
    foreign_case = f.CaseFactory(board=other_board)
    foreign = {
        **ctx,
        "board": other_board,
        "case": foreign_case,
        "consensus_case": f.CaseFactory(board=other_board, stage="consensus"),
        "report": f.PathologyReportFactory(case=f.CaseFactory(board=other_board)),
        "meeting": f.MeetingFactory(board=other_board),
    }
    foreign["draft"] = f.DecisionFactory(case=foreign["consensus_case"], meeting=foreign["meeting"])
    with pytest.raises(Http404):
        action(foreign, ctx["users"][persona])


def test_visibility_follows_board_membership(board, other_board, coordinator, outsider):
    mine, theirs = f.CaseFactory(board=board), f.CaseFactory(board=other_board)
    assert list(permissions.cases_visible_to(coordinator)) == [mine]
    assert list(permissions.cases_visible_to(outsider)) == [theirs]
    assert list(permissions.patients_visible_to(outsider)) == [theirs.patient]
    with pytest.raises(Http404):
        permissions.get_case_for_user(outsider, mine.pk)
    for bad in ("abc", None, 10**30, -1):
        with pytest.raises(Http404):
            permissions.get_case_for_user(coordinator, bad)


def test_a_patient_with_a_case_on_my_board_is_visible_even_if_registered_elsewhere(board, other_board, coordinator):
    patient = f.PatientFactory(registered_board=other_board)
    f.CaseFactory(board=board, patient=patient)
    assert list(permissions.patients_visible_to(coordinator)) == [patient]


def test_an_inactive_user_sees_nothing(board, coordinator):
    f.CaseFactory(board=board)
    coordinator.is_active = False
    permissions.forget_memberships(coordinator)
    assert not permissions.cases_visible_to(coordinator).exists()
