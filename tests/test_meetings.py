from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from cases import models as m
from cases.services import meetings
from cases.services.errors import Conflict
from tests import factories as f


@pytest.fixture
def meeting(board, coordinator):
    return meetings.meeting_schedule(
        board=board, by=coordinator, starts_at=timezone.now() + timedelta(days=2), location="Room 4B"
    )


def test_only_complete_referrals_go_on_the_agenda(meeting, board, coordinator):
    incomplete = f.CaseFactory(board=board, history="", referring_clinician="")
    with pytest.raises(Conflict) as refused:
        meetings.agenda_add(meeting=meeting, case=incomplete, by=coordinator)
    assert refused.value.code == "referral_incomplete"
    assert "referring clinician" in refused.value.message and "history" in refused.value.message
    assert not meeting.agenda_items.exists()


def test_a_case_is_listed_once_and_in_order(meeting, board, coordinator):
    first, second = f.CaseFactory(board=board), f.CaseFactory(board=board)
    a = meetings.agenda_add(meeting=meeting, case=first, by=coordinator)
    b = meetings.agenda_add(meeting=meeting, case=second, by=coordinator, minutes=20)
    assert (a.position, b.position, b.minutes) == (1, 2, 20)
    with pytest.raises(Conflict):
        meetings.agenda_add(meeting=meeting, case=first, by=coordinator)


def test_an_addition_after_publishing_is_flagged_late(meeting, board, coordinator):
    early = meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator)
    meetings.agenda_publish(meeting=meeting, by=coordinator)
    late = meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator)
    assert (early.is_late, late.is_late) == (False, True)
    with pytest.raises(Conflict):
        meetings.agenda_publish(meeting=meeting, by=coordinator)


def test_reordering_needs_every_item_exactly_once(meeting, board, coordinator):
    items = [meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator) for _ in range(3)]
    ids = [item.pk for item in items]
    meetings.agenda_reorder(meeting=meeting, by=coordinator, item_ids=list(reversed(ids)))
    assert list(meeting.agenda_items.values_list("pk", flat=True)) == list(reversed(ids))
    for bad in (ids[:2], [*ids, ids[0]], [ids[0], ids[1], 999999]):
        with pytest.raises(ValidationError):
            meetings.agenda_reorder(meeting=meeting, by=coordinator, item_ids=bad)


def test_time_slots_follow_the_start_and_the_minutes(meeting, board, coordinator):
    from cases import selectors

    meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator, minutes=15)
    meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator, minutes=10)
    slots = selectors.agenda_time_slots(meeting)
    assert [(start - meeting.starts_at, end - meeting.starts_at) for _, start, end in slots] == [
        (timedelta(0), timedelta(minutes=15)),
        (timedelta(minutes=15), timedelta(minutes=25)),
    ]


def test_a_deferred_case_rolls_to_the_next_meeting(meeting, board, coordinator):
    case = f.CaseFactory(board=board)
    item = meetings.agenda_add(meeting=meeting, case=case, by=coordinator)
    following = meetings.meeting_schedule(
        board=board, by=coordinator, starts_at=meeting.starts_at + timedelta(days=7), location="Room 4B"
    )
    with pytest.raises(ValidationError):
        meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome="deferred", reason=" ")
    meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome="deferred", reason="Awaiting PET-CT.")
    rolled = following.agenda_items.get()
    assert (rolled.case, rolled.rolled_from) == (case, item)
    assert case.events.filter(summary__startswith="Deferred case rolled").exists()


def published_next_meeting(meeting, coordinator, capture) -> m.Meeting:
    """The board's next meeting, a week on, with one case on its published agenda."""
    following = meetings.meeting_schedule(
        board=meeting.board, by=coordinator, starts_at=meeting.starts_at + timedelta(days=7), location="Room 4B"
    )
    meetings.agenda_add(meeting=following, case=f.CaseFactory(board=meeting.board), by=coordinator)
    with capture(execute=True):
        meetings.agenda_publish(meeting=following, by=coordinator)
    return m.Meeting.objects.get(pk=following.pk)


def test_a_case_rolled_onto_a_published_agenda_is_announced_like_any_addition(
    meeting, board, coordinator, radiologist, django_capture_on_commit_callbacks
):
    case = f.CaseFactory(board=board)
    item = meetings.agenda_add(meeting=meeting, case=case, by=coordinator)
    following = published_next_meeting(meeting, coordinator, django_capture_on_commit_callbacks)
    sequence = following.calendar_sequence
    m.Job.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome="deferred", reason="Awaiting PET-CT.")
    assert m.Meeting.objects.get(pk=following.pk).calendar_sequence == sequence + 1
    told = m.Notification.objects.filter(user=radiologist, subject__contains="agenda changed").get()
    assert f"case {case.pk} was deferred to it from the meeting of" in told.body
    assert case.patient.family_name not in told.body
    assert m.Job.objects.filter(kind="packet.render", args__meeting_id=following.pk).exists()


def test_cases_rolled_on_by_a_cancellation_are_announced_once_for_all_of_them(
    meeting, board, coordinator, radiologist, django_capture_on_commit_callbacks
):
    cases = [f.CaseFactory(board=board) for _ in range(3)]
    for case in cases:
        meetings.agenda_add(meeting=meeting, case=case, by=coordinator)
    following = published_next_meeting(meeting, coordinator, django_capture_on_commit_callbacks)
    sequence = following.calendar_sequence
    with django_capture_on_commit_callbacks(execute=True):
        meetings.meeting_cancel(meeting=meeting, by=coordinator, reason="Public holiday.", agenda="roll")
    assert m.Meeting.objects.get(pk=following.pk).calendar_sequence == sequence + 1
    told = m.Notification.objects.filter(user=radiologist, subject__contains="agenda changed").get()
    assert f"cases {', '.join(str(c.pk) for c in cases)} were deferred to it" in told.body


def test_a_deferred_case_waits_for_the_next_meeting_to_be_scheduled(meeting, board, coordinator):
    case = f.CaseFactory(board=board)
    item = meetings.agenda_add(meeting=meeting, case=case, by=coordinator)
    meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome="deferred", reason="Patient unwell.")
    later = meetings.meeting_schedule(
        board=board,
        by=coordinator,
        starts_at=meeting.starts_at + timedelta(days=14),
        video_link="https://meet.example.org/x",
    )
    assert later.agenda_items.get().rolled_from == item


def test_attendance_is_for_board_members_and_sets_quorum(meeting, coordinator, specialists, outsider):
    with pytest.raises(ValidationError):
        meetings.attendance_record(meeting=meeting, by=coordinator, user=outsider)
    assert not meeting.quorum().recorded
    for user in specialists.values():
        meetings.attendance_record(meeting=meeting, by=coordinator, user=user)
    quorum = m.Meeting.objects.get(pk=meeting.pk).quorum()
    assert quorum.is_met and quorum.missing == []
    meetings.attendance_record(meeting=meeting, by=coordinator, user=specialists["pathology"], present=False)
    quorum = m.Meeting.objects.get(pk=meeting.pk).quorum()
    assert (quorum.is_met, quorum.missing_labels) == (False, ["Pathology"])


def test_members_cannot_manage_meetings_and_outsiders_cannot_see_them(meeting, board, radiologist, outsider):
    with pytest.raises(PermissionDenied):
        meetings.agenda_publish(meeting=meeting, by=radiologist)
    with pytest.raises(Http404):
        meetings.agenda_publish(meeting=meeting, by=outsider)
    with pytest.raises(PermissionDenied):
        meetings.meeting_schedule(board=board, by=radiologist, starts_at=timezone.now(), location="x")


def test_a_meeting_needs_a_place_or_a_video_link(board, coordinator):
    with pytest.raises(ValidationError):
        meetings.meeting_schedule(board=board, by=coordinator, starts_at=timezone.now())


def test_a_held_meeting_has_a_closed_agenda(meeting, board, coordinator):
    m.Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now())
    meetings.meeting_set_status(meeting=meeting, by=coordinator, status="in_progress")
    meetings.meeting_set_status(meeting=meeting, by=coordinator, status="held")
    with pytest.raises(Conflict):
        meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=board), by=coordinator)
    with pytest.raises(Conflict):
        meetings.meeting_set_status(meeting=meeting, by=coordinator, status="scheduled")


def test_a_case_of_another_board_is_refused(meeting, other_board, coordinator):
    with pytest.raises(ValidationError):
        meetings.agenda_add(meeting=meeting, case=f.CaseFactory(board=other_board), by=coordinator)
