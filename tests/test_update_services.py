"""Every update service: lock, version, state, diff; a no-op changes nothing; the audit row holds the diff."""

import pytest
from django.urls import reverse

from cases import models as m
from cases.services import cases, common, decisions, followups, meetings, opinions, pathology
from tests import factories as f
from tests.conftest import audit_actions

PLAN = [{"category": "surveillance", "detail": "Osteosarcoma schedule."}]


@pytest.fixture
def draft(make_case, coordinator, quorate_meeting, radiologist):
    case = make_case("consensus")
    return decisions.decision_record(
        case=case,
        by=coordinator,
        meeting=quorate_meeting,
        participants=[radiologist],
        consensus_diagnosis="Tumoral calcinosis.",
        plan=PLAN,
    )


def updates(obj) -> list:
    actions = m.AuditEvent.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
    return list(actions.filter(action__endswith=".update").values_list("changes", flat=True))


# The helper ------------------------------------------------------------------------------------


def test_model_update_sets_the_values_and_returns_only_what_changed(case):
    changes = common.model_update(
        instance=case, fields=cases.CASE_FIELDS, data={"priority": "urgent", "history": case.history}
    )
    assert changes == {"priority": ["routine", "urgent"]}
    assert case.priority == "urgent"


def test_model_update_refuses_a_field_the_service_does_not_edit(case):
    stage = case.stage
    with pytest.raises(TypeError, match="stage"):
        common.model_update(instance=case, fields=cases.CASE_FIELDS, data={"stage": "closed"})
    assert case.stage == stage


# No-op edits change nothing: no version bump, no audit row -----------------------------------------


def test_a_no_op_pathology_edit_keeps_the_version_and_writes_no_audit_row(make_case, pathologist):
    report = make_case("pathology", report_status="preliminary").pathology_reports.get()
    unchanged = pathology.pathology_report_update(report=report, by=pathologist, diagnosis=report.diagnosis)
    report.refresh_from_db()
    assert (unchanged.version, report.version) == (1, 1)
    assert "pathology.update" not in audit_actions()


def test_a_no_op_patch_keeps_the_etag_of_a_pathology_report_as_of_a_case(api, pathologist, coordinator, make_case):
    report = make_case("pathology", report_status="preliminary").pathology_reports.get()
    client = api(pathologist)
    etag = client.get(f"/api/v1/pathology-reports/{report.pk}/")["ETag"]
    again = client.patch(f"/api/v1/pathology-reports/{report.pk}/", {"diagnosis": report.diagnosis}, HTTP_IF_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] == etag
    case = report.case
    etag = api(coordinator).get(f"/api/v1/cases/{case.pk}/")["ETag"]
    again = api(coordinator).patch(f"/api/v1/cases/{case.pk}/", {"priority": case.priority}, HTTP_IF_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] == etag


def test_a_no_op_edit_of_a_draft_decision_or_an_opinion_changes_nothing(draft, coordinator, radiologist, radonc):
    decisions.decision_update(
        decision=draft,
        by=coordinator,
        meeting=draft.meeting,
        participants=[radiologist],
        consensus_diagnosis=draft.consensus_diagnosis,
        plan=PLAN,
    )
    opinion = draft.case.opinions.get(author=radonc)
    opinions.opinion_update(opinion=opinion, by=radonc, assessment=opinion.assessment)
    draft.refresh_from_db()
    opinion.refresh_from_db()
    assert (draft.version, opinion.version) == (1, 1)
    assert updates(draft) == updates(opinion) == []


def test_a_no_op_reassignment_or_agenda_edit_changes_nothing(draft, coordinator, quorate_meeting):
    follow_up = m.FollowUp.objects.create(
        case=draft.case,
        kind="action",
        category="surveillance",
        description="Scan",
        owner=coordinator,
        due_on="2031-01-01",
    )
    follow_up.refresh_from_db()
    followups.follow_up_reassign(follow_up=follow_up, by=coordinator, owner=coordinator, due_on=follow_up.due_on)
    item = meetings.agenda_add(meeting=quorate_meeting, case=draft.case, by=coordinator, minutes=10)
    meetings.agenda_item_update(item=item, by=coordinator, presenter=None, minutes=10)
    follow_up.refresh_from_db()
    assert follow_up.version == 1
    assert "follow_up.update" not in audit_actions() and "agenda.update" not in audit_actions()


def test_a_patient_edit_audits_only_what_changed(coordinator, board):
    patient = f.PatientFactory(registered_board=board)
    cases.patient_update(patient=patient, by=coordinator, given_name=patient.given_name, comorbidities="CKD 3")
    assert m.AuditEvent.objects.get(action="patient.update").changes == {"comorbidities": ["", "CKD 3"]}
    cases.patient_update(patient=patient, by=coordinator, comorbidities="CKD 3")
    assert audit_actions(action="patient.update") == ["patient.update"]


# A draft decision's meeting can be cleared; its participants are audited -------------------------


def test_decision_update_clears_the_meeting(draft, coordinator, quorate_meeting):
    decisions.decision_update(decision=draft, by=coordinator, meeting=None)
    draft.refresh_from_db()
    assert draft.meeting is None and draft.version == 2
    assert m.AuditEvent.objects.get(action="decision.update").changes == {"meeting": [quorate_meeting.pk, None]}


def test_the_portal_clears_the_meeting_with_not_at_a_meeting(signed_in, coordinator, draft, radiologist):
    data = {
        "meeting": "",
        "consensus_diagnosis": draft.consensus_diagnosis,
        "plan": ["surveillance"],
        "detail_surveillance": "Osteosarcoma schedule.",
        "rationale": "",
        "dissent": "",
        "participants": [radiologist.pk],
        "version": draft.version,
    }
    response = signed_in(coordinator).post(reverse("decision-edit", args=[draft.case_id]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.meeting is None


def test_the_api_clears_the_meeting_with_null(api, coordinator, draft):
    client = api(coordinator)
    etag = client.get(f"/api/v1/decisions/{draft.pk}/")["ETag"]
    response = client.patch(f"/api/v1/decisions/{draft.pk}/", {"meeting": None}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response.json()["meeting"] is None
    draft.refresh_from_db()
    assert draft.meeting is None
    # Leaving the meeting out keeps it as it is: a PATCH changes only what it names.
    decisions.decision_update(decision=draft, by=coordinator, meeting=f.MeetingFactory(board=draft.case.board))
    draft.refresh_from_db()
    kept = draft.meeting_id
    etag = client.get(f"/api/v1/decisions/{draft.pk}/")["ETag"]
    client.patch(f"/api/v1/decisions/{draft.pk}/", {"dissent": "None."}, format="json", HTTP_IF_MATCH=etag)
    draft.refresh_from_db()
    assert (draft.meeting_id, draft.dissent) == (kept, "None.")


def test_a_change_of_participants_is_audited_with_before_and_after(draft, coordinator, radiologist, pathologist):
    decisions.decision_update(decision=draft, by=coordinator, participants=[radiologist, pathologist])
    changes = m.AuditEvent.objects.get(action="decision.update").changes
    assert changes == {"participants": [[radiologist.pk], sorted([radiologist.pk, pathologist.pk])]}
    draft.refresh_from_db()
    assert draft.version == 2
    assert set(draft.participants.all()) == {radiologist, pathologist}
