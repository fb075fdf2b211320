import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cases import models as m
from cases.services import workflow
from cases.services.errors import Conflict, GatesUnmet, StaleVersion
from tests import factories as f
from tests.conftest import audit_actions

# Every allowed forward move, with the stage the case starts in.
FORWARD_MOVES = [
    ("intake", "imaging"),
    ("imaging", "pathology"),
    ("pathology", "revised_pathology"),
    ("pathology", "consensus"),
    ("revised_pathology", "consensus"),
    ("consensus", "closed"),
]


def sign_decision_for(case, chair, meeting):
    report = case.pathology_reports.last()
    f.DecisionFactory(
        case=case,
        meeting=meeting,
        status="signed",
        signed_by=chair,
        signed_at=f.timezone.now(),
        pathology_report=report,
    )


@pytest.mark.parametrize(("frm", "to"), FORWARD_MOVES)
def test_every_forward_move_passes_when_its_gates_are_met(frm, to, make_case, coordinator, chair, quorate_meeting):
    case = make_case(frm)
    if to == "closed":
        sign_decision_for(case, chair, quorate_meeting)
    moved = workflow.case_transition(case=case, to=to, by=coordinator, note="ready")
    assert moved.stage == to
    assert moved.version == case.version + 1
    event = moved.events.get(kind="transition")
    assert (event.from_stage, event.to_stage, event.actor, event.note) == (frm, to, coordinator, "ready")
    assert audit_actions(case_id=case.pk) == ["case.transition"]


@pytest.mark.parametrize(
    ("frm", "to", "setup", "codes"),
    [
        (
            "intake",
            "imaging",
            {"history": "", "clinical_question": ""},
            ["referral_incomplete:clinical_question", "referral_incomplete:history"],
        ),
        ("imaging", "pathology", {"impression": ""}, ["imaging_impression_missing"]),
        ("pathology", "revised_pathology", {"no_report": True}, ["pathology_report_missing"]),
        (
            "pathology",
            "consensus",
            {"no_opinions": True, "report_status": "preliminary"},
            [
                "required_specialty_missing:radiology",
                "required_specialty_missing:pathology",
                "required_specialty_missing:orthopaedic_oncology",
                "required_specialty_missing:radiation_oncology",
                "pathology_not_final",
            ],
        ),
        ("consensus", "closed", {}, ["decision_not_signed"]),
    ],
)
def test_a_refused_move_names_every_unmet_gate(frm, to, setup, codes, board, coordinator, specialists):
    case = f.CaseFactory(board=board, stage=frm)
    for field in ("history", "clinical_question"):
        if field in setup:
            setattr(case, field, setup[field])
            case.save()
    if frm != "intake":
        f.ImagingStudyFactory(case=case, impression=setup.get("impression", "Impression."))
    if frm in ("pathology", "consensus") and not setup.get("no_report"):
        status = setup.get("report_status", "final")
        f.PathologyReportFactory(
            case=case, status=status, signed_out_at=None if status == "preliminary" else f.timezone.now()
        )
    with pytest.raises(GatesUnmet) as refused:
        workflow.case_transition(case=case, to=to, by=coordinator)
    assert refused.value.codes == codes
    assert all(g.message for g in refused.value.unmet)
    case.refresh_from_db()
    assert case.stage == frm and case.version == 1
    assert not m.AuditEvent.objects.filter(case_id=case.pk).exists()


def test_consensus_accepts_a_recorded_reason_instead_of_pathology(make_case, coordinator, specialists):
    case = make_case("pathology")
    case.pathology_reports.all().delete()
    case.no_pathology_reason = "Biopsy declined by the patient; imaging is diagnostic."
    case.save()
    assert workflow.case_transition(case=case, to="consensus", by=coordinator).stage == "consensus"


def test_consensus_needs_the_current_report_final_not_a_superseded_one(make_case, coordinator, specialists):
    case = make_case("revised_pathology")
    old = case.pathology_reports.get()
    f.PathologyReportFactory(case=case, status="amended", supersedes=old, amendment_reason="r", discrepancy="minor")
    assert workflow.case_transition(case=case, to="consensus", by=coordinator).stage == "consensus"


def test_closing_needs_a_decision_on_the_current_pathology(make_case, coordinator, chair, quorate_meeting):
    case = make_case("consensus")
    sign_decision_for(case, chair, quorate_meeting)
    old = case.pathology_reports.get()
    f.PathologyReportFactory(case=case, status="amended", supersedes=old, amendment_reason="r", discrepancy="major")
    with pytest.raises(GatesUnmet) as refused:
        workflow.case_transition(case=case, to="closed", by=coordinator)
    assert refused.value.codes == ["decision_on_superseded_pathology"]


@pytest.mark.parametrize(
    ("frm", "to"), [("intake", "pathology"), ("imaging", "consensus"), ("closed", "closed"), ("intake", "closed")]
)
def test_a_move_that_is_not_in_the_workflow_is_refused(frm, to, board, coordinator):
    case = f.CaseFactory(board=board, stage=frm)
    with pytest.raises(Conflict) as refused:
        workflow.case_transition(case=case, to=to, by=coordinator, note="x")
    assert refused.value.code == "transition_not_allowed"


def test_an_unknown_stage_is_refused(case, coordinator):
    with pytest.raises(Conflict) as refused:
        workflow.case_transition(case=case, to="limbo", by=coordinator)
    assert refused.value.code == "unknown_stage"


@pytest.mark.parametrize(
    ("frm", "to"),
    [("imaging", "intake"), ("consensus", "imaging"), ("closed", "consensus"), ("revised_pathology", "pathology")],
)
def test_a_move_back_needs_a_reason(frm, to, board, coordinator):
    case = f.CaseFactory(board=board, stage=frm)
    with pytest.raises(GatesUnmet) as refused:
        workflow.case_transition(case=case, to=to, by=coordinator, note="  ")
    assert refused.value.codes == ["reason_required"]
    moved = workflow.case_transition(case=case, to=to, by=coordinator, note="The board wants an MRI first.")
    assert moved.stage == to
    assert moved.events.get().note == "The board wants an MRI first."


def test_a_stale_version_is_refused_and_changes_nothing(make_case, coordinator):
    case = make_case("intake")
    workflow.case_transition(case=case, to="imaging", by=coordinator, expected_version=1)
    with pytest.raises(StaleVersion):
        workflow.case_transition(case=case, to="intake", by=coordinator, note="back", expected_version=1)
    case.refresh_from_db()
    assert (case.stage, case.version) == ("imaging", 2)


@pytest.mark.parametrize("persona", ["radiologist", "pathologist", "orthopaedic", "radonc"])
def test_members_without_the_role_cannot_move_a_case(persona, request, make_case):
    user = request.getfixturevalue(persona)
    case = make_case("intake")
    with pytest.raises(PermissionDenied):
        workflow.case_transition(case=case, to="imaging", by=user)


def test_the_chair_can_move_a_case(make_case, chair):
    assert workflow.case_transition(case=make_case("intake"), to="imaging", by=chair).stage == "imaging"


def test_an_outsider_gets_not_found_for_another_boards_case(make_case, outsider):
    with pytest.raises(Http404):
        workflow.case_transition(case=make_case("intake"), to="imaging", by=outsider)


def test_next_moves_lists_forward_moves_with_their_gates_and_back_moves(make_case):
    case = make_case("pathology", report_status="preliminary")
    case.opinions.all().delete()
    moves = {move.to: move for move in workflow.next_moves(case)}
    assert list(moves) == ["revised_pathology", "consensus", "imaging", "intake"]
    assert moves["revised_pathology"].unmet == []
    assert "pathology_not_final" in [g.code for g in moves["consensus"].unmet]
    assert moves["imaging"].is_back and moves["imaging"].unmet == []
