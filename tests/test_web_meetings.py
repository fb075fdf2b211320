"""Meetings in the portal: scheduling, the agenda builder, publishing, attendance and quorum, in-meeting mode."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.services import meetings
from tests import factories as f


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def meeting(board, coordinator):
    return f.MeetingFactory(board=board, created_by=coordinator, starts_at=timezone.now() + timedelta(days=2))


def listed(meeting, *cases, minutes=10):
    return [
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=i, minutes=minutes)
        for i, case in enumerate(cases, start=1)
    ]


# Scheduling --------------------------------------------------------------------------------------


def test_a_coordinator_schedules_a_meeting(signed_in, coordinator, board):
    response = signed_in(coordinator).post(
        reverse("meeting-new"), {"board": board.pk, "starts_at": "2027-03-04T16:00", "location": "Room 4B"}
    )
    meeting = m.Meeting.objects.get()
    assert response["Location"] == reverse("meeting-detail", args=[meeting.pk])
    assert timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d %H:%M") == "2027-03-04 16:00"


def test_a_meeting_needs_a_place_or_a_video_link(signed_in, coordinator, board):
    response = signed_in(coordinator).post(reverse("meeting-new"), {"board": board.pk, "starts_at": "2027-03-04T16:00"})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not m.Meeting.objects.exists()


def test_board_members_cannot_schedule_meetings(signed_in, radiologist, board):
    client = signed_in(radiologist)
    assert b"Schedule a meeting" not in client.get(reverse("meeting-list")).content
    response = client.post(
        reverse("meeting-new"), {"board": board.pk, "starts_at": "2027-03-04T16:00", "location": "X"}
    )
    assert response.status_code == 403
    assert not m.Meeting.objects.exists()


# The agenda builder ------------------------------------------------------------------------------


def test_only_complete_open_referrals_of_the_board_are_offered_for_the_agenda(
    signed_in, coordinator, board, other_board, meeting
):
    complete = f.CaseFactory(board=board, stage="imaging", patient__family_name="Complete")
    f.CaseFactory(board=board, history="", patient__family_name="Incomplete")
    f.CaseFactory(board=board, stage="closed", patient__family_name="Closedcase")
    f.CaseFactory(board=other_board, patient__family_name="Otherboard")
    already = f.CaseFactory(board=board, patient__family_name="Alreadylisted")
    listed(meeting, already)
    choices = signed_in(coordinator).get(reverse("meeting-detail", args=[meeting.pk])).context["add_form"]
    offered = [label for value, label in choices.fields["case"].choices if value != ""]
    assert len(offered) == 1 and offered[0].startswith(f"Case {complete.pk}: {complete.patient.full_name}")


def test_adding_an_incomplete_referral_by_hand_is_refused(signed_in, coordinator, board, meeting):
    incomplete = f.CaseFactory(board=board, history="")
    response = signed_in(coordinator).post(
        reverse("agenda-add", args=[meeting.pk]), {"case": incomplete.pk, "minutes": 10}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["add_form"].errors["case"][0]
    assert not meeting.agenda_items.exists()


def test_a_case_added_after_publishing_is_flagged_late(signed_in, coordinator, board, meeting, orthopaedic):
    first, second = f.CaseFactory(board=board), f.CaseFactory(board=board)
    client = signed_in(coordinator)
    client.post(
        reverse("agenda-add", args=[meeting.pk]), {"case": first.pk, "minutes": 15, "presenter": orthopaedic.pk}
    )
    client.post(reverse("agenda-publish", args=[meeting.pk]), {"confirmed": "yes"})
    response = client.post(reverse("agenda-add", args=[meeting.pk]), {"case": second.pk, "minutes": 10})
    assert "flagged as a late addition" in messages_of(response)[-1]
    early, late = meeting.agenda_items.order_by("position")
    assert (early.is_late, early.presenter, early.minutes) == (False, orthopaedic, 15)
    assert late.is_late
    assert "Late addition" in text_of(client.get(reverse("meeting-detail", args=[meeting.pk])))


def test_publishing_twice_says_it_is_already_published(signed_in, coordinator, board, meeting):
    listed(meeting, f.CaseFactory(board=board))
    client = signed_in(coordinator)
    client.post(reverse("agenda-publish", args=[meeting.pk]), {"confirmed": "yes"})
    response = client.post(reverse("agenda-publish", args=[meeting.pk]), {"confirmed": "yes"})
    assert response.status_code == 400
    assert "The agenda is already published." in response.content.decode()


def test_the_agenda_is_reordered_with_the_up_and_down_buttons(signed_in, coordinator, board, meeting):
    a, b, c = listed(meeting, *(f.CaseFactory(board=board) for _ in range(3)))
    client = signed_in(coordinator)
    rows = client.get(reverse("meeting-detail", args=[meeting.pk])).context["rows"]
    assert (rows[0]["up"], rows[2]["down"]) == ("", "")
    client.post(reverse("agenda-reorder", args=[meeting.pk]), {"order": rows[2]["up"]})
    assert list(meeting.agenda_items.order_by("position").values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]


def test_presenter_and_minutes_change_the_time_slots(signed_in, coordinator, board, meeting, radiologist):
    first, second = listed(meeting, f.CaseFactory(board=board), f.CaseFactory(board=board))
    client = signed_in(coordinator)
    client.post(
        reverse("agenda-item-update", args=[first.pk]),
        {f"item-{first.pk}-presenter": radiologist.pk, f"item-{first.pk}-minutes": 25},
    )
    first.refresh_from_db()
    assert (first.presenter, first.minutes) == (radiologist, 25)
    rows = client.get(reverse("meeting-detail", args=[meeting.pk])).context["rows"]
    assert rows[1]["starts"] == meeting.starts_at + timedelta(minutes=25)


def test_minutes_out_of_range_are_refused_beside_the_field(signed_in, coordinator, board, meeting):
    (item,) = listed(meeting, f.CaseFactory(board=board))
    response = signed_in(coordinator).post(
        reverse("agenda-item-update", args=[item.pk]), {f"item-{item.pk}-minutes": 0}
    )
    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()
    item.refresh_from_db()
    assert item.minutes == 10


def test_a_pending_case_is_removed_from_the_agenda(signed_in, coordinator, board, meeting):
    (item,) = listed(meeting, f.CaseFactory(board=board))
    signed_in(coordinator).post(reverse("agenda-item-remove", args=[item.pk]))
    assert not meeting.agenda_items.exists()


def test_members_see_the_agenda_without_the_builder_and_cannot_change_it(signed_in, radiologist, board, meeting):
    (item,) = listed(meeting, f.CaseFactory(board=board))
    client = signed_in(radiologist)
    response = client.get(reverse("meeting-detail", args=[meeting.pk]))
    assert response.context["add_form"] is None
    assert reverse("agenda-publish", args=[meeting.pk]) not in response.content.decode()
    assert client.post(reverse("agenda-publish", args=[meeting.pk])).status_code == 403
    assert client.post(reverse("agenda-item-remove", args=[item.pk])).status_code == 403
    meeting.refresh_from_db()
    assert not meeting.is_published and meeting.agenda_items.exists()


# Attendance and quorum ---------------------------------------------------------------------------


def test_recording_attendance_updates_the_quorum_indicator(signed_in, coordinator, meeting, specialists):
    client = signed_in(coordinator)
    present = [specialists["radiology"].pk, specialists["pathology"].pk]
    client.post(reverse("attendance-record", args=[meeting.pk]), {"present": present})
    rows = {row.user_id: row.present for row in meeting.attendance.all()}
    assert rows[specialists["radiology"].pk] and not rows[specialists["radiation_oncology"].pk]
    text = text_of(client.get(reverse("meeting-detail", args=[meeting.pk])))
    assert "Not quorate" in text
    assert "Missing: Orthopaedic oncology, Radiation oncology" in text
    client.post(reverse("attendance-record", args=[meeting.pk]), {"present": [u.pk for u in specialists.values()]})
    assert "Quorate" in text_of(client.get(reverse("meeting-detail", args=[meeting.pk])))


def test_attendance_of_someone_outside_the_board_is_refused(signed_in, coordinator, meeting, outsider):
    response = signed_in(coordinator).post(reverse("attendance-record", args=[meeting.pk]), {"present": [outsider.pk]})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not meeting.attendance.exists()


# In-meeting mode ---------------------------------------------------------------------------------


def test_in_meeting_mode_starts_at_the_first_pending_case(signed_in, coordinator, board, meeting):
    done, pending = listed(meeting, f.CaseFactory(board=board), f.CaseFactory(board=board))
    m.AgendaItem.objects.filter(pk=done.pk).update(outcome="discussed")
    response = signed_in(coordinator).get(reverse("meeting-run", args=[meeting.pk]))
    assert response.context["current"] == pending
    assert pending.case.clinical_question in text_of(response)


def test_recording_discussed_moves_on_to_the_next_case(signed_in, coordinator, board, meeting):
    first, second = listed(meeting, f.CaseFactory(board=board), f.CaseFactory(board=board))
    client = signed_in(coordinator)
    response = client.post(reverse("agenda-outcome", args=[first.pk]), {"outcome": "discussed"})
    assert response["Location"] == reverse("meeting-run", args=[meeting.pk])
    first.refresh_from_db()
    assert first.outcome == "discussed"
    assert client.get(reverse("meeting-run", args=[meeting.pk])).context["current"] == second


def test_deferring_needs_a_reason_and_rolls_the_case_to_the_next_meeting(signed_in, coordinator, board, meeting):
    (item,) = listed(meeting, f.CaseFactory(board=board))
    following = f.MeetingFactory(board=board, starts_at=meeting.starts_at + timedelta(days=7))
    client = signed_in(coordinator)
    response = client.post(reverse("agenda-outcome", args=[item.pk]), {"outcome": "deferred", "deferral_reason": ""})
    assert response.status_code == 400
    assert response.context["outcome_form"].errors["deferral_reason"] == ["Say why the case is deferred."]
    item.refresh_from_db()
    assert item.outcome == "pending"
    client.post(reverse("agenda-outcome", args=[item.pk]), {"outcome": "deferred", "deferral_reason": "Awaiting MR."})
    item.refresh_from_db()
    assert (item.outcome, item.deferral_reason) == ("deferred", "Awaiting MR.")
    assert following.agenda_items.get().rolled_from == item


def test_the_decision_recorded_in_meeting_mode_returns_there_and_the_chair_signs_it(
    signed_in, coordinator, chair, make_case, quorate_meeting, specialists
):
    case = make_case("consensus")
    (item,) = listed(quorate_meeting, case)
    run_url = reverse("meeting-run-item", args=[quorate_meeting.pk, item.pk])
    client = signed_in(chair)
    form = client.get(run_url).context["decision_form"]
    assert form.initial["meeting"] == quorate_meeting.pk
    assert set(form.initial["participants"]) == {u.pk for u in specialists.values()}
    response = client.post(
        reverse("decision-edit", args=[case.pk]),
        {
            "next": run_url,
            "meeting": quorate_meeting.pk,
            "consensus_diagnosis": "Callus and calcinosis.",
            "plan": ["surveillance"],
            "participants": [u.pk for u in specialists.values()],
        },
    )
    assert response["Location"] == run_url
    decision = case.decisions.get()
    response = client.post(reverse("decision-sign", args=[decision.pk]), {"next": run_url, "confirmed": "yes"})
    assert response["Location"] == run_url
    decision.refresh_from_db()
    assert decision.is_signed


def test_an_outside_next_address_is_ignored(signed_in, coordinator, make_case, quorate_meeting):
    case = make_case("consensus")
    response = signed_in(coordinator).post(
        reverse("decision-edit", args=[case.pk]),
        {
            "next": "https://evil.example.org/",
            "meeting": quorate_meeting.pk,
            "consensus_diagnosis": "X.",
            "plan": ["biopsy"],
        },
    )
    assert response["Location"] == reverse("case-detail", args=[case.pk]) + "#decision"


def test_a_coordinator_moves_the_meeting_from_its_page(signed_in, coordinator, board, meeting):
    portal = signed_in(coordinator)
    page = text_of(portal.get(reverse("meeting-detail", args=[meeting.pk])))
    assert "Move the meeting…" in page
    form = text_of(portal.get(reverse("meeting-move", args=[meeting.pk])))
    assert "Calendars that hold this meeting replace it." in form
    later = timezone.localtime(meeting.starts_at + timedelta(days=1))
    response = portal.post(
        reverse("meeting-move", args=[meeting.pk]),
        {"starts_at": f"{later:%Y-%m-%dT%H:%M}", "location": "Seminar room 4", "video_link": ""},
    )
    assert response.status_code == 302
    assert messages_of(response) == ["The meeting is moved."]
    meeting.refresh_from_db()
    assert meeting.location == "Seminar room 4" and timezone.localtime(meeting.starts_at).date() == later.date()


def test_a_move_without_a_place_is_refused_and_members_cannot_move_a_meeting(
    signed_in, coordinator, radiologist, meeting
):
    refused = signed_in(coordinator).post(
        reverse("meeting-move", args=[meeting.pk]),
        {"starts_at": f"{timezone.localtime(meeting.starts_at):%Y-%m-%dT%H:%M}", "location": "", "video_link": ""},
    )
    assert refused.status_code == 400
    meeting.refresh_from_db()
    assert meeting.location == "Room 1"
    member = signed_in(radiologist)
    assert "Move the meeting" not in text_of(member.get(reverse("meeting-detail", args=[meeting.pk])))
    assert member.get(reverse("meeting-move", args=[meeting.pk])).status_code == 403


def test_the_meeting_is_started_and_ended_from_its_page(signed_in, coordinator, meeting):
    m.Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now())
    client = signed_in(coordinator)
    client.post(reverse("meeting-status", args=[meeting.pk]), {"status": "in_progress"})
    meeting.refresh_from_db()
    assert meeting.status == "in_progress"
    response = client.post(reverse("meeting-status", args=[meeting.pk]), {"status": "scheduled"})
    assert messages_of(response)[-1].startswith("The meeting is in progress; it cannot become scheduled.")
    client.post(reverse("meeting-status", args=[meeting.pk]), {"status": "held"})
    meeting.refresh_from_db()
    assert meeting.status == "held"


def test_an_empty_agenda_has_nothing_to_walk(signed_in, coordinator, meeting):
    response = signed_in(coordinator).get(reverse("meeting-run", args=[meeting.pk]))
    assert response["Location"] == reverse("meeting-detail", args=[meeting.pk]) + "#agenda"


def test_the_services_roll_the_deferred_case_even_when_the_next_meeting_is_scheduled_later(
    signed_in, coordinator, board, meeting
):
    (item,) = listed(meeting, f.CaseFactory(board=board))
    signed_in(coordinator).post(
        reverse("agenda-outcome", args=[item.pk]), {"outcome": "deferred", "deferral_reason": "R."}
    )
    later = meetings.meeting_schedule(
        board=board, by=coordinator, starts_at=meeting.starts_at + timedelta(days=14), location="X"
    )
    assert later.agenda_items.get().case == item.case
