"""Build RFC 5545 calendars of meetings.

Calendars leave the hospital (phones, cloud calendar services), so an event says which board meets,
when, where and how to join, with a link to the meeting page: never a patient's name or any clinical
text. A member's own presenting slots name the case by its number only.

Each meeting is one event whose UID never changes; its SEQUENCE is the meeting's `calendar_sequence`,
which the meeting services raise on every change a calendar shows, so clients replace what they hold.
Times carry the hospital's TIME_ZONE with its VTIMEZONE.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ..models import Meeting, MeetingStatus
from ..selectors import agenda_time_slots

PRODID = "-//Tumor Board//Meetings//EN"
DEFAULT_MINUTES = 60
CONTENT_TYPE = "text/calendar; charset=utf-8"


def meeting_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.pk}@{settings.TUMORBOARD_CALENDAR_DOMAIN}"


def _slots(meeting: Meeting, user) -> tuple[datetime, list[str]]:
    """The meeting's end (its agenda's minutes, or an hour) and the user's own presenting slots."""
    slots = agenda_time_slots(meeting)
    end = slots[-1][2] if slots else meeting.starts_at + timedelta(minutes=DEFAULT_MINUTES)
    zone = ZoneInfo(settings.TIME_ZONE)
    mine = [
        f"case {item.case_id}, {start.astimezone(zone):%H:%M}–{stop.astimezone(zone):%H:%M}"
        for item, start, stop in slots
        if user is not None and item.presenter_id == user.pk
    ]
    return end, mine


def _event(meeting: Meeting, user, stamp: datetime, base_url: str) -> icalendar.Event:
    zone = ZoneInfo(settings.TIME_ZONE)
    end, mine = _slots(meeting, user)
    cancelled = meeting.status == MeetingStatus.CANCELLED
    event = icalendar.Event()
    event.add("uid", meeting_uid(meeting))
    event.add("dtstamp", stamp)
    event.add("sequence", meeting.calendar_sequence)
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", end.astimezone(zone))
    event.add("summary", f"{meeting.board.name} meeting" + (" (cancelled)" if cancelled else ""))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if meeting.location:
        event.add("location", meeting.location)
    link = base_url.rstrip("/") + reverse("meeting-detail", args=[meeting.pk])
    event.add("url", link)
    lines = [
        f"Agenda: {len(meeting.agenda_items.all())} case(s)" + ("" if meeting.is_published else " (not yet published)")
    ]
    if meeting.video_link:
        lines.append(f"Join: {meeting.video_link}")
    lines += [f"You present {slot}" for slot in mine]
    lines.append(f"Meeting page: {link}")
    event.add("description", "\n".join(lines))
    return event


def build_calendar(meetings: list[Meeting], *, user, base_url: str, method: str = "PUBLISH", name: str = "") -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    stamp = timezone.now().astimezone(UTC).replace(microsecond=0)
    for meeting in meetings:
        calendar.add_component(_event(meeting, user, stamp, base_url))
    if meetings and settings.TIME_ZONE != "UTC":
        first = min(m.starts_at for m in meetings).date() - timedelta(days=1)
        last = max(m.starts_at for m in meetings).date() + timedelta(days=2)
        calendar.add_missing_timezones(first_date=first, last_date=max(last, date(2038, 1, 1)))
    return calendar.to_ical()


def method_of(meeting: Meeting) -> str:
    """A cancelled meeting is sent as METHOD:CANCEL, so calendars remove it."""
    return "CANCEL" if meeting.status == MeetingStatus.CANCELLED else "PUBLISH"


def meeting_calendar(meeting: Meeting, *, user, base_url: str) -> bytes:
    return build_calendar([meeting], user=user, base_url=base_url, method=method_of(meeting))


def feed_calendar(meetings: list[Meeting], *, user, base_url: str) -> bytes:
    return build_calendar(meetings, user=user, base_url=base_url, name="Tumor board meetings")


def filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.pk}-{timezone.localtime(meeting.starts_at):%Y%m%d}.ics"
