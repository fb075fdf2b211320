import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from cases import models as m
from cases.services import decisions, workflow
from cases.services.errors import Conflict, GatesUnmet
from tests import factories as f
from tests.conftest import audit_actions

PLAN = [
    {"category": "surveillance", "detail": "Osteosarcoma schedule."},
    {"category": "supportive_care", "detail": "Phosphate control."},
]


@pytest.fixture
def consensus_case(make_case):
    case = make_case("consensus")
    case.referring_email = "referrer@example.org"
    case.save()
    return case


def record(case, by, meeting, **overrides):
    fields = {"consensus_diagnosis": "Tumoral calcinosis.", "plan": PLAN, "rationale": "Revised pathology."}
    f.on_agenda(meeting, case)
    return decisions.decision_record(case=case, by=by, meeting=meeting, **{**fields, **overrides})


def test_the_chair_signs_a_decision_and_the_plan_becomes_follow_ups(
    consensus_case, coordinator, chair, quorate_meeting, specialists
):
    decision = record(consensus_case, coordinator, quorate_meeting, participants=list(specialists.values()))
    signed = decisions.decision_sign(decision=decision, by=chair, expected_version=1)
    assert (signed.status, signed.signed_by, signed.version) == ("signed", chair, 2)
    assert signed.pathology_report == consensus_case.pathology_reports.get()
    actions = consensus_case.follow_ups.order_by("id")
    assert [(a.kind, a.category, a.owner, a.status) for a in actions] == [
        # Each part goes to the member whose specialty fits (chair: medical oncology), not to the chair by default.
        ("action", "surveillance", specialists["orthopaedic_oncology"], "planned"),
        ("action", "supportive_care", chair, "planned"),
    ]
    assert actions[0].description == "Surveillance: Osteosarcoma schedule."
    assert audit_actions(case_id=consensus_case.pk) == ["decision.create", "decision.sign"]


def test_the_referring_clinician_is_told_once_the_decision_is_signed(
    consensus_case, coordinator, chair, quorate_meeting, django_capture_on_commit_callbacks
):
    decision = record(consensus_case, coordinator, quorate_meeting)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.decision_sign(decision=decision, by=chair)
    assert [message.to for message in mail.outbox] == [["referrer@example.org"]]
    assert consensus_case.patient.family_name not in mail.outbox[0].body


@pytest.mark.parametrize("persona", ["coordinator", "radiologist", "pathologist"])
def test_only_the_chair_signs(persona, request, consensus_case, coordinator, quorate_meeting):
    decision = record(consensus_case, coordinator, quorate_meeting)
    with pytest.raises(PermissionDenied):
        decisions.decision_sign(decision=decision, by=request.getfixturevalue(persona))


def test_an_outsider_cannot_see_the_decision(consensus_case, coordinator, quorate_meeting, outsider):
    decision = record(consensus_case, coordinator, quorate_meeting)
    with pytest.raises(Http404):
        decisions.decision_sign(decision=decision, by=outsider)
    with pytest.raises(Http404):
        record(consensus_case, outsider, None)


def test_signing_needs_a_quorate_meeting_with_attendance(consensus_case, board, coordinator, chair, radiologist):
    empty = f.MeetingFactory(board=board, starts_at=timezone.now(), status="in_progress")
    decision = record(consensus_case, coordinator, empty)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes[0] == "attendance_missing"
    f.AttendanceFactory(meeting=empty, user=radiologist, specialty="radiology")
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == [
        "quorum_not_met:pathology",
        "quorum_not_met:orthopaedic_oncology",
        "quorum_not_met:radiation_oncology",
    ]
    decision.refresh_from_db()
    assert decision.status == "draft"
    assert not consensus_case.follow_ups.exists()


def test_signing_needs_a_meeting_and_the_case_in_consensus(make_case, coordinator, chair):
    case = make_case("pathology")
    decision = record(case, coordinator, None)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == ["case_not_in_consensus", "meeting_missing"]


def test_absent_members_do_not_count_for_quorum(consensus_case, coordinator, chair, quorate_meeting):
    quorate_meeting.attendance.filter(specialty="pathology").update(present=False)
    decision = record(consensus_case, coordinator, quorate_meeting)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == ["quorum_not_met:pathology"]


def test_a_signed_decision_cannot_change_by_service(consensus_case, coordinator, chair, quorate_meeting):
    decision = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    with pytest.raises(Conflict):
        decisions.decision_update(decision=decision, by=coordinator, consensus_diagnosis="Changed.")
    with pytest.raises(Conflict):
        decisions.decision_sign(decision=decision, by=chair)


def test_a_signed_decision_cannot_change_by_model(consensus_case, coordinator, chair, quorate_meeting):
    decision = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    decision.consensus_diagnosis = "Changed."
    with pytest.raises(m.FrozenRecordError):
        decision.save()
    with pytest.raises(m.FrozenRecordError):
        decision.delete()
    assert m.Decision.objects.get().consensus_diagnosis == "Tumoral calcinosis."


def test_a_signed_decision_is_read_only_in_admin(consensus_case, coordinator, chair, quorate_meeting, admin_user):
    decision = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = site._registry[m.Decision]
    assert not model_admin.has_change_permission(request, decision)
    assert not model_admin.has_delete_permission(request, decision)
    assert not model_admin.has_add_permission(request)


def test_a_correction_supersedes_the_signed_decision(consensus_case, coordinator, chair, quorate_meeting):
    original = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    with pytest.raises(ValidationError):
        decisions.decision_correct(decision=original, by=chair, reason=" ", consensus_diagnosis="x", plan=PLAN)
    correction = decisions.decision_correct(
        decision=original,
        by=chair,
        reason="Dissent omitted.",
        consensus_diagnosis="Tumoral calcinosis.",
        plan=PLAN,
        dissent="Radiation oncology preferred imaging first.",
    )
    decisions.decision_sign(decision=correction, by=chair)
    original.refresh_from_db()
    assert original.superseded_at is not None
    assert original.superseded_by == correction
    assert original.consensus_diagnosis == "Tumoral calcinosis."
    assert (
        m.Decision.objects.filter(case=consensus_case, status="signed", superseded_at__isnull=True).get() == correction
    )


def test_a_second_decision_must_correct_the_signed_one(consensus_case, coordinator, chair, quorate_meeting):
    decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    second = record(consensus_case, coordinator, quorate_meeting)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=second, by=chair)
    assert refused.value.codes == ["decision_already_signed"]


def test_only_the_chair_corrects(consensus_case, coordinator, chair, quorate_meeting):
    original = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    with pytest.raises(PermissionDenied):
        decisions.decision_correct(decision=original, by=coordinator, reason="x", consensus_diagnosis="x", plan=PLAN)


@pytest.mark.parametrize(
    "plan",
    [
        [],
        [{"category": "magic", "detail": ""}],
        "surgery",
        [{"category": "surgery", "detail": 3}],
        [{"category": "surgery", "extra": 1}],
    ],
)
def test_a_malformed_plan_is_refused(plan, consensus_case, coordinator, quorate_meeting):
    with pytest.raises(ValidationError) as refused:
        record(consensus_case, coordinator, quorate_meeting, plan=plan)
    assert "plan" in refused.value.message_dict
    assert not m.Decision.objects.exists()


def test_participants_must_be_board_members(consensus_case, coordinator, quorate_meeting, outsider):
    with pytest.raises(ValidationError):
        record(consensus_case, coordinator, quorate_meeting, participants=[outsider])


def test_a_meeting_of_another_board_is_refused(consensus_case, coordinator, other_board):
    with pytest.raises(ValidationError):
        record(consensus_case, coordinator, f.MeetingFactory(board=other_board))


def test_one_draft_at_a_time(consensus_case, coordinator, quorate_meeting):
    record(consensus_case, coordinator, quorate_meeting)
    with pytest.raises(Conflict) as refused:
        record(consensus_case, coordinator, quorate_meeting)
    assert refused.value.code == "draft_exists"


def test_a_decision_signed_before_an_amendment_shows_as_made_on_the_superseded_report(
    consensus_case, coordinator, chair, pathologist, quorate_meeting
):
    from cases.services import pathology

    decision = decisions.decision_sign(decision=record(consensus_case, coordinator, quorate_meeting), by=chair)
    workflow.case_transition(case=consensus_case, to="closed", by=coordinator)
    report = decision.pathology_report
    pathology.pathology_report_amend(
        report=report, by=pathologist, diagnosis="No tumour.", amendment_reason="Re-review.", discrepancy="major"
    )
    consensus_case.refresh_from_db()
    assert consensus_case.stage == "revised_pathology"
    report.refresh_from_db()
    assert report.is_superseded
    assert decision.pathology_report_id == report.pk
