"""The portal after an amendment and around the meeting (issue 10): flags, re-confirmation, corrections."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.services import decisions, meetings, pathology, workflow
from tests import factories as f
from tests.test_web_queries import assert_constant

PLAN = [{"category": "surveillance", "detail": "Schedule."}]


def text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def reviewed_case(make_case, coordinator, chair, pathologist, quorate_meeting):
    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    decision = decisions.decision_record(
        case=case, by=coordinator, meeting=quorate_meeting, consensus_diagnosis="Recurrence.", plan=PLAN
    )
    decisions.decision_sign(decision=decision, by=chair)
    workflow.case_transition(case=case, to="closed", by=coordinator)
    pathology.pathology_report_amend(
        report=case.pathology_reports.get(),
        by=pathologist,
        diagnosis="Tumoral calcinosis.",
        amendment_reason="Re-review.",
        discrepancy="major",
    )
    return case


def test_the_case_page_opens_with_what_changed_and_the_flags(signed_in, coordinator, reviewed_case):
    page = text(signed_in(coordinator).get(reverse("case-detail", args=[reviewed_case.pk])))
    assert page.index("What changed in the pathology") < page.index("Referral")
    assert "Needs review after an amendment" in page
    assert "Signed on superseded pathology: review" in page and 'class="badge status-signed"' not in page
    assert "Input to re-confirm" in page
    assert "Suspended: decision under review" in page
    assert reverse("follow-up-done", args=[reviewed_case.follow_ups.first().pk]) not in page
    # Every input was given on the superseded report: none is counted, and the page does not say all is there.
    assert "Every specialty the board requires has given input" not in page
    assert "Still missing, required by the board:" in page
    # Surveillance cannot be planned again around the suspension: the plan is under review.
    assert "Apply a surveillance schedule" not in page


def test_the_case_list_dashboard_and_agenda_flag_the_case(signed_in, coordinator, board, reviewed_case):
    client = signed_in(coordinator)
    assert "Decision on superseded pathology: review" in text(client.get(reverse("case-list")))
    dashboard = text(client.get(reverse("dashboard")))
    assert "Needs review after an amendment" in dashboard and reviewed_case.patient.mrn in dashboard
    meeting = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=reviewed_case, position=1)
    assert "Needs review after an amendment" in text(client.get(reverse("meeting-detail", args=[meeting.pk])))


def test_the_first_reports_diagnosis_stays_in_view_where_input_and_decisions_are_made(
    signed_in, coordinator, radiologist, pathologist, quorate_meeting, reviewed_case
):
    # A second amendment changes the specimen only: the change of diagnosis made by the first must not drop out.
    pathology.pathology_report_amend(
        report=reviewed_case.pathology_reports.get(superseded_by__isnull=True),
        by=pathologist,
        diagnosis="Tumoral calcinosis.",
        specimen="Left distal femur, open biopsy",
        amendment_reason="Specimen wording.",
        discrepancy="none",
    )
    form = text(signed_in(radiologist).get(reverse("opinion-edit", args=[reviewed_case.pk])))
    changed = form[form.index("Changed since the first report") :]
    assert "Diagnosis:" in changed and "Tumoral calcinosis." in changed and "(major discrepancy)" in form
    decision_form = text(signed_in(coordinator).get(reverse("decision-edit", args=[reviewed_case.pk])))
    assert "Changed since the first report (major discrepancy)" in decision_form
    item = quorate_meeting.agenda_items.get(case=reviewed_case)
    run = signed_in(coordinator).get(reverse("meeting-run-item", args=[quorate_meeting.pk, item.pk])).content.decode()
    assert 'id="what-changed"' in run and 'href="#what-changed"' in run


def test_my_input_stands_is_the_authors_one_click(signed_in, radiologist, pathologist, reviewed_case):
    opinion = reviewed_case.opinions.get(author=radiologist)
    url = reverse("opinion-confirm", args=[opinion.pk])
    page = text(signed_in(radiologist).get(reverse("case-detail", args=[reviewed_case.pk])))
    assert "Given on superseded pathology." in page and url in page
    assert signed_in(pathologist).post(url, {"version": opinion.version}).status_code == 403
    response = signed_in(radiologist).post(url, {"version": opinion.version})
    assert response.status_code == 302
    opinion.refresh_from_db()
    assert not opinion.is_stale


def test_frozen_attendance_is_corrected_with_a_reason(signed_in, coordinator, quorate_meeting, radiologist):
    meetings.meeting_end(meeting=quorate_meeting, by=coordinator)
    client = signed_in(coordinator)
    page = text(client.get(reverse("meeting-detail", args=[quorate_meeting.pk])))
    assert "Attendance is frozen" in page and "Record attendance" not in page
    url = reverse("attendance-correct", args=[quorate_meeting.pk])
    refused = client.post(url, {"user": radiologist.pk, "present": "no", "reason": ""})
    assert refused.status_code == 400
    assert client.post(url, {"user": radiologist.pk, "present": "no", "reason": "Left early."}).status_code == 302
    row = quorate_meeting.attendance.get(user=radiologist)
    assert (row.present, row.correction_reason) == (False, "Left early.")


def test_a_post_without_confirmation_only_shows_the_confirmation_page(signed_in, coordinator, board):
    meeting = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=3))
    client = signed_in(coordinator)
    page = client.post(reverse("agenda-publish", args=[meeting.pk]))
    assert page.status_code == 200 and "Please confirm." in page.content.decode()
    meeting.refresh_from_db()
    assert not meeting.is_published
    cancel = client.post(reverse("meeting-cancel", args=[meeting.pk]), {"reason": "x"})
    assert cancel.status_code == 200
    meeting.refresh_from_db()
    assert meeting.status == "scheduled"


def test_the_case_list_with_flags_has_a_constant_query_count(
    signed_in, coordinator, board, pathologist, django_assert_num_queries
):
    def grow(count=8):
        for _ in range(count):
            case = f.CaseFactory(board=board)
            report = f.PathologyReportFactory(case=case, status="final", signed_out_at=timezone.now())
            f.OpinionFactory(case=case, stale_since=timezone.now())
            f.PathologyReportFactory(
                case=case, supersedes=report, status="amended", discrepancy="major", amendment_reason="Re-read."
            )

    grow(count=1)
    assert_constant(
        signed_in(coordinator), reverse("case-list"), grow, 10, django_assert_num_queries
    )  # +1: its read audit


def test_the_agenda_row_of_an_amended_case_carries_a_marker_even_when_nothing_is_stale(
    signed_in, coordinator, board, pathologist
):
    from cases.printing.documents import render_meeting_packet
    from tests.conftest import build_case, pdf_pages_text

    amended, plain = build_case(board, stage="pathology"), build_case(board, stage="pathology")
    pathology.pathology_report_amend(
        report=amended.pathology_reports.get(),
        by=pathologist,
        diagnosis="Tumoral calcinosis.",
        amendment_reason="Laterality corrected.",
        discrepancy="minor",
        laterality="right",
    )
    assert not amended.opinions.exists() and not amended.decisions.exists()
    meeting = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=2))
    for position, case in enumerate((amended, plain), start=1):
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=position)
    page = signed_in(coordinator).get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    rows = page.split('<li class="agenda-item')[1:]
    assert [("Pathology amended" in row) for row in rows] == [True, False]
    agenda = " ".join(pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content)[1].split())
    assert agenda.count("PATHOLOGY AMENDED") == 1
    assert agenda.index(amended.patient.mrn) < agenda.index("PATHOLOGY AMENDED") < agenda.index(plain.patient.mrn)


@pytest.fixture
def cancelled_meeting(board, coordinator, make_case):
    meeting = f.MeetingFactory(board=board, created_by=coordinator, starts_at=timezone.now() + timedelta(days=3))
    meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
    meetings.agenda_publish(meeting=meeting, by=coordinator)
    return meetings.meeting_cancel(meeting=meeting, by=coordinator, reason="The room is closed for works.")


def test_a_cancelled_meeting_page_offers_nothing_but_its_record(signed_in, coordinator, cancelled_meeting):
    meeting = cancelled_meeting
    item = meeting.agenda_items.get()
    html = signed_in(coordinator).get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    page = " ".join(html.split())
    # The record: the status, the reason, the agenda as it was, and where its case went.
    assert "Cancelled." in page and "The room is closed for works." in page
    assert item.case.patient.mrn in page and "Deferred: Meeting cancelled" in page
    for offered in (
        "Print packet",
        "Prepare a teaching set",
        "In-meeting mode",
        "Start the meeting",
        "Cancel the meeting",
        "Publish the agenda",
        "Back to draft",
        "Add to the agenda",
        "Record attendance",
        "Correct the attendance",
    ):
        assert offered not in page, offered
    for name, args in (
        ("meeting-packet-pdf", [meeting.pk]),
        ("teaching-new-meeting", [meeting.pk]),
        ("meeting-run", [meeting.pk]),
        ("meeting-status", [meeting.pk]),
        ("agenda-add", [meeting.pk]),
        ("agenda-reorder", [meeting.pk]),
        ("agenda-unpublish", [meeting.pk]),
        ("attendance-record", [meeting.pk]),
        ("attendance-correct", [meeting.pk]),
        ("agenda-item-update", [item.pk]),
        ("agenda-item-remove", [item.pk]),
        ("agenda-outcome", [item.pk]),
    ):
        assert f'"{reverse(name, args=args)}"' not in html, name


def test_a_cancelled_meeting_refuses_every_action_with_a_sentence(
    signed_in, api, coordinator, chair, board, cancelled_meeting, make_case, radiologist
):
    from cases.services import teaching
    from cases.services.errors import Conflict

    meeting, item = cancelled_meeting, cancelled_meeting.agenda_items.get()
    client = signed_in(coordinator)
    packet = client.get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    assert packet.status_code == 409 and "The meeting was cancelled" in packet.content.decode()
    refused = api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    assert (refused.status_code, refused.json()["code"]) == (409, "meeting_cancelled")
    refusals = {
        "presenter": lambda: meetings.agenda_item_update(item=item, by=coordinator, minutes=25),
        "unpublish": lambda: meetings.agenda_unpublish(meeting=meeting, by=coordinator),
        "correction": lambda: meetings.attendance_correct(
            meeting=meeting, by=coordinator, user=radiologist, present=True, reason="Was there."
        ),
        "outcome": lambda: meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome="discussed"),
    }
    for what, call in refusals.items():
        with pytest.raises(Conflict) as error:
            call()
        assert (error.value.code, "cancelled" in error.value.message) == ("meeting_closed", True), what
    with pytest.raises(ValidationError) as decision:
        decisions.decision_record(
            case=make_case("consensus"), by=coordinator, meeting=meeting, consensus_diagnosis="X.", plan=PLAN
        )
    assert "cancelled" in decision.value.message_dict["meeting"][0]
    with pytest.raises(ValidationError) as teaching_set:
        teaching.teaching_set_create(by=coordinator, cases=[item.case], meeting=meeting)
    assert "cancelled" in teaching_set.value.message_dict["meeting"][0]
    item.refresh_from_db()
    assert (item.minutes, item.outcome, meeting.decisions.count(), m.TeachingSet.objects.count()) == (
        10,
        "deferred",
        0,
        0,
    )
