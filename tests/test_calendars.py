"""Meetings as calendars: a meeting's .ics (portal and API) and the per-user feed at a secret address.

Every calendar is parsed back with `icalendar`; none carries a patient's name, MRN or clinical text.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.services import calendars, meetings
from tests import factories as f

pytestmark = pytest.mark.django_db


def parse(content: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return calendar


def events(calendar):
    return list(calendar.walk("VEVENT"))


@pytest.fixture
def meeting(board, coordinator):
    return f.MeetingFactory(
        board=board, created_by=coordinator, location="Room 4B", video_link="https://video.example.org/sarcoma"
    )


@pytest.fixture
def listed(meeting, make_case, coordinator, radiologist):
    case = make_case("consensus")
    meetings.agenda_add(meeting=meeting, case=case, by=coordinator, presenter=radiologist, minutes=15)
    return case


def test_a_meetings_calendar_is_valid_and_names_no_patient(signed_in, coordinator, meeting, listed):
    response = signed_in(coordinator).get(reverse("meeting-calendar", args=[meeting.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"].startswith('attachment; filename="meeting-')
    calendar = parse(response.content)
    assert calendar["METHOD"] == "PUBLISH"
    (event,) = events(calendar)
    assert str(event["UID"]) == f"meeting-{meeting.pk}@localhost"
    assert event["SUMMARY"] == "Sarcoma board meeting"
    assert event["LOCATION"] == "Room 4B"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=15)
    assert "https://video.example.org/sarcoma" in event["DESCRIPTION"]
    assert f"/meetings/{meeting.pk}/" in event["URL"]
    text = response.content.decode()
    for secret in (listed.patient.full_name, listed.patient.family_name, listed.patient.mrn, listed.clinical_question):
        assert secret not in text
    assert m.AuditEvent.objects.filter(action="meeting.calendar", object_id=str(meeting.pk)).count() == 1


def test_times_carry_the_hospitals_time_zone(settings, signed_in, coordinator, board):
    settings.TIME_ZONE = "Europe/Oslo"
    starts = timezone.now().replace(microsecond=0) + timedelta(days=5)
    meeting = f.MeetingFactory(board=board, created_by=coordinator, starts_at=starts)
    calendar = parse(signed_in(coordinator).get(reverse("meeting-calendar", args=[meeting.pk])).content)
    (event,) = events(calendar)
    assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
    assert event.decoded("DTSTART") == starts
    assert event.decoded("DTSTART").utcoffset() == starts.astimezone(ZoneInfo("Europe/Oslo")).utcoffset()
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Oslo"]


def test_an_update_keeps_the_uid_and_raises_the_sequence(api, coordinator, meeting, listed):
    client = api(coordinator)
    url = f"/api/v1/meetings/{meeting.pk}/calendar.ics"
    first = events(parse(client.get(url).content))[0]
    meetings.agenda_publish(meeting=meeting, by=coordinator)
    second = events(parse(client.get(url).content))[0]
    assert second["UID"] == first["UID"]
    assert second["SEQUENCE"] > first["SEQUENCE"]


def test_a_cancelled_meeting_is_sent_as_a_cancellation(api, coordinator, meeting):
    before = events(parse(api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/calendar.ics").content))[0]
    meetings.meeting_set_status(meeting=meeting, by=coordinator, status=m.MeetingStatus.CANCELLED)
    calendar = parse(api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/calendar.ics").content)
    assert calendar["METHOD"] == "CANCEL"
    (event,) = events(calendar)
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == before["UID"] and event["SEQUENCE"] > before["SEQUENCE"]


def test_another_boards_meeting_calendar_is_not_found(signed_in, api, outsider, meeting):
    assert signed_in(outsider).get(reverse("meeting-calendar", args=[meeting.pk])).status_code == 404
    assert api(outsider).get(f"/api/v1/meetings/{meeting.pk}/calendar.ics").status_code == 404
    assert api().get(f"/api/v1/meetings/{meeting.pk}/calendar.ics").status_code == 401


def feed_token(client) -> str:
    response = client.post(reverse("calendar-settings"), {"action": "rotate"})
    assert response.status_code == 200
    address = response.context["new_address"]
    return address.rsplit("/", 1)[1].removesuffix(".ics")


def test_the_feed_lists_my_boards_meetings_and_my_presenting_slots(
    client, signed_in, radiologist, meeting, listed, other_board
):
    f.MeetingFactory(board=other_board)  # not the radiologist's board
    token = feed_token(signed_in(radiologist))
    client.logout()
    response = client.get(reverse("calendar-feed", args=[token]))
    assert response.status_code == 200
    (event,) = events(parse(response.content))
    assert event["UID"] == f"meeting-{meeting.pk}@localhost"
    assert f"You present case {listed.pk}," in event["DESCRIPTION"]
    assert listed.patient.full_name not in response.content.decode()
    feed = m.CalendarFeed.objects.get(user=radiologist)
    assert feed.last_read_at is not None
    assert token not in feed.token_hash  # only a digest is stored
    assert m.AuditEvent.objects.filter(action="calendar.feed_read", actor=radiologist).count() == 1


def test_rotating_the_feed_stops_the_old_address_and_revoking_stops_all(client, signed_in, coordinator, meeting):
    portal = signed_in(coordinator)
    old = feed_token(portal)
    new = feed_token(portal)
    assert client.get(reverse("calendar-feed", args=[old])).status_code == 404
    assert client.get(reverse("calendar-feed", args=[new])).status_code == 200
    portal.post(reverse("calendar-settings"), {"action": "revoke"})
    assert client.get(reverse("calendar-feed", args=[new])).status_code == 404
    assert [a for a in m.AuditEvent.objects.order_by("sequence").values_list("action", flat=True) if "feed" in a] == [
        "calendar.feed_create",
        "calendar.feed_rotate",
        "calendar.feed_read",
        "calendar.feed_revoke",
    ]


def test_a_deactivated_users_feed_stops(client, coordinator, meeting):
    token = calendars.calendar_feed_rotate(user=coordinator)
    coordinator.is_active = False
    coordinator.save()
    assert client.get(reverse("calendar-feed", args=[token])).status_code == 404


def test_an_unknown_or_hostile_feed_address_is_not_found(client, db):
    for token in ["nope", "x" * 200, "%00", "..%2f..%2fetc"]:
        assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_the_feed_reads_a_constant_number_of_queries(
    client, coordinator, board, django_assert_num_queries, make_case, specialists
):
    token = calendars.calendar_feed_rotate(user=coordinator)

    def add_meetings(count):
        for _ in range(count):
            meeting = f.MeetingFactory(board=board, created_by=coordinator)
            for _ in range(2):
                meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("calendar-feed", args=[token])).status_code == 200
        return len(captured)

    add_meetings(1)
    few = count_queries()
    add_meetings(8)
    assert count_queries() == few
