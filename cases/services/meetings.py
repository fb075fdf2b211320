"""Meetings: scheduling, the agenda, attendance and each case's outcome."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .. import permissions
from ..models import (
    AgendaItem,
    Attendance,
    Board,
    BoardMembership,
    Case,
    CaseEventKind,
    Meeting,
    MeetingStatus,
    Outcome,
    Stage,
)
from .audit import audit_record, snapshot
from .calendars import meeting_calendar_changed
from .common import (
    case_event_add,
    lock,
    model_update,
    require_board_members,
    require_not_withdrawn,
    save_changes,
    save_validated,
)
from .errors import Conflict
from .jobs import packet_prerender
from .plausibility import check_meeting_start

MEETING_FIELDS = ["starts_at", "location", "video_link"]
AGENDA_ITEM_FIELDS = ["presenter", "minutes"]
OPEN_STATUSES = {MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS}


def _agenda_changed(meeting: Meeting, by) -> None:
    """Calendars see a new SEQUENCE; a published agenda's packet is rendered again in the background."""
    meeting_calendar_changed(meeting)
    if meeting.is_published:
        packet_prerender(meeting=meeting, by=by)


def _require_open(meeting: Meeting) -> None:
    if meeting.status not in OPEN_STATUSES:
        raise Conflict(
            f"The meeting is {meeting.get_status_display().lower()}; its agenda is closed.", code="meeting_closed"
        )


def meeting_schedule(
    *, board: Board, by, starts_at, location: str = "", video_link: str = "", back_entry: bool = False
) -> Meeting:
    """Schedule a meeting; cases deferred at an earlier meeting and not yet re-listed roll onto it.

    A new meeting starts today or later; `back_entry` records one already held (the demo's history)."""
    permissions.require(by, "meeting.manage", board.pk)
    if not back_entry:
        check_meeting_start(starts_at)
    meeting = Meeting(board=board, created_by=by, starts_at=starts_at, location=location, video_link=video_link)
    with transaction.atomic():
        save_validated(meeting)
        audit_record(actor=by, action="meeting.create", obj=meeting, changes=snapshot(meeting, MEETING_FIELDS))
        waiting = (
            AgendaItem.objects.filter(meeting__board=board, outcome=Outcome.DEFERRED, rolled_to__isnull=True)
            .exclude(case__stage=Stage.CLOSED)
            .select_related("case")
            .order_by("meeting__starts_at", "position")
        )
        for item in waiting:
            _roll(item=item, to_meeting=meeting, by=by)
    return meeting


def agenda_add(*, meeting: Meeting, case: Case, by, presenter=None, minutes: int = 10) -> AgendaItem:
    permissions.require(by, "meeting.manage", meeting.board_id)
    if case.board_id != meeting.board_id:
        raise ValidationError({"case": "The case belongs to another board."})
    if not case.is_referral_complete:
        missing = ", ".join(Case._meta.get_field(n).verbose_name for n in case.missing_referral_fields)
        raise Conflict(
            f"An incomplete referral cannot go on the agenda (missing: {missing}).", code="referral_incomplete"
        )
    if case.stage == Stage.CLOSED:
        raise Conflict("A closed case cannot go on an agenda; reopen it first.", code="case_closed")
    require_not_withdrawn(case)
    require_board_members(board_id=meeting.board_id, users=[presenter], field="presenter")
    with transaction.atomic():
        meeting = lock(meeting)
        _require_open(meeting)
        item = _append(meeting=meeting, case=case, presenter=presenter, minutes=minutes)
        case_event_add(
            case=case,
            kind=CaseEventKind.AGENDA,
            summary=f"Listed for the meeting of {timezone.localtime(meeting.starts_at):%d %b %Y}"
            + (" (late addition)" if item.is_late else ""),
            actor=by,
        )
        audit_record(
            actor=by,
            action="agenda.add",
            obj=item,
            case_id=case.pk,
            patient_id=case.patient_id,
            changes={"meeting": meeting.pk, "late": item.is_late},
        )
        _agenda_changed(meeting, by)
    return item


def _append(*, meeting: Meeting, case: Case, presenter=None, minutes: int = 10, rolled_from=None) -> AgendaItem:
    if meeting.agenda_items.filter(case=case).exists():
        raise Conflict("This case is already on the agenda.", code="already_listed")
    last = meeting.agenda_items.aggregate(last=Max("position"))["last"] or 0
    item = AgendaItem(
        meeting=meeting,
        case=case,
        position=last + 1,
        presenter=presenter,
        minutes=minutes,
        is_late=meeting.is_published,
        rolled_from=rolled_from,
    )
    try:
        with transaction.atomic():
            save_validated(item)
    except IntegrityError:
        raise Conflict("This case is already on the agenda.", code="already_listed") from None
    return item


def agenda_item_update(*, item: AgendaItem, by, presenter=None, minutes: int | None = None) -> AgendaItem:
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    require_board_members(board_id=item.meeting.board_id, users=[presenter], field="presenter")
    with transaction.atomic():
        lock(item.meeting)
        item = lock(item)
        data = {"presenter": presenter} | ({"minutes": minutes} if minutes is not None else {})
        changes = model_update(instance=item, fields=AGENDA_ITEM_FIELDS, data=data)
        if not changes:
            return item
        save_changes(instance=item, changes=changes, by=by, action="agenda.update")
        _agenda_changed(item.meeting, by)
    return item


def agenda_remove(*, item: AgendaItem, by) -> None:
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    with transaction.atomic():
        meeting = lock(item.meeting)
        _require_open(meeting)
        item = lock(item)
        if item.outcome != Outcome.PENDING:
            raise Conflict("A case already discussed or deferred stays on the agenda.", code="outcome_recorded")
        audit_record(actor=by, action="agenda.remove", obj=item, case_id=item.case_id, changes={"meeting": meeting.pk})
        case_event_add(case=item.case, kind=CaseEventKind.AGENDA, summary="Removed from the agenda", actor=by)
        item.delete()
        _agenda_changed(meeting, by)


def agenda_reorder(*, meeting: Meeting, by, item_ids: list[int]) -> list[AgendaItem]:
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        _require_open(meeting)
        items = {item.pk: item for item in meeting.agenda_items.select_for_update()}
        if sorted(item_ids) != sorted(items) or len(set(item_ids)) != len(item_ids):
            raise ValidationError({"items": "Give every agenda item of this meeting exactly once."})
        for position, pk in enumerate(item_ids, start=1):
            items[pk].position = position
        AgendaItem.objects.bulk_update(items.values(), ["position"])
        audit_record(actor=by, action="agenda.reorder", obj=meeting, changes={"order": list(item_ids)})
        _agenda_changed(meeting, by)
    return [items[pk] for pk in item_ids]


def agenda_publish(*, meeting: Meeting, by) -> Meeting:
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        _require_open(meeting)
        if meeting.is_published:
            raise Conflict("The agenda is already published.", code="already_published")
        if not meeting.agenda_items.exists():
            # Publishing an empty agenda would flag every case added afterwards as late.
            raise Conflict("An empty agenda is not published: add the cases first.", code="agenda_empty")
        meeting.agenda_published_at = timezone.now()
        meeting.save(update_fields=["agenda_published_at"])
        audit_record(actor=by, action="agenda.publish", obj=meeting)
        meeting_calendar_changed(meeting)
        packet_prerender(meeting=meeting, by=by)
    return meeting


def agenda_unpublish(*, meeting: Meeting, by) -> Meeting:
    """Take a published agenda back to draft before the meeting (published too early, or by mistake).

    Cases already flagged as late additions keep the flag: they were added after members were told.
    """
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= timezone.now():
            raise Conflict("An agenda is unpublished only before its meeting starts.", code="meeting_started")
        if not meeting.is_published:
            raise Conflict("The agenda is not published.", code="not_published")
        published_at, meeting.agenda_published_at = meeting.agenda_published_at, None
        meeting.save(update_fields=["agenda_published_at"])
        audit_record(actor=by, action="agenda.unpublish", obj=meeting, changes={"published_at": [published_at, None]})
    return meeting


def meeting_set_status(*, meeting: Meeting, by, status: str) -> Meeting:
    permissions.require(by, "meeting.manage", meeting.board_id)
    allowed = {
        MeetingStatus.SCHEDULED: {MeetingStatus.IN_PROGRESS, MeetingStatus.CANCELLED},
        MeetingStatus.IN_PROGRESS: {MeetingStatus.HELD},
    }
    with transaction.atomic():
        meeting = lock(meeting)
        if status not in allowed.get(meeting.status, set()):
            raise Conflict(
                f"A {meeting.get_status_display().lower()} meeting cannot become {status.replace('_', ' ')}.",
                code="meeting_status_not_allowed",
            )
        before = meeting.status
        meeting.status = status
        meeting.save(update_fields=["status"])
        audit_record(actor=by, action="meeting.status", obj=meeting, changes={"status": [before, status]})
        meeting_calendar_changed(meeting)
    return meeting


def attendance_record(*, meeting: Meeting, by, user, present: bool = True, specialty: str | None = None) -> Attendance:
    permissions.require(by, "meeting.manage", meeting.board_id)
    member = BoardMembership.objects.filter(board_id=meeting.board_id, user=user).first()
    if member is None:
        raise ValidationError({"user": "Only members of this board are recorded as attending."})
    with transaction.atomic():
        lock(meeting)
        attendance, created = Attendance.objects.update_or_create(
            meeting=meeting,
            user=user,
            defaults={"present": present, "specialty": member.specialty if specialty is None else specialty},
        )
        audit_record(
            actor=by,
            action="attendance.record",
            obj=attendance,
            changes={"meeting": meeting.pk, "user": user.pk, "present": present, "specialty": attendance.specialty},
        )
    return attendance


def agenda_item_record_outcome(*, item: AgendaItem, by, outcome: str, reason: str = "") -> AgendaItem:
    """Discussed, or deferred with a reason; a deferred case rolls onto the board's next meeting.

    A deferred item's `deferred_to` is that meeting (None when no later meeting is scheduled yet)."""
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    if outcome not in (Outcome.DISCUSSED, Outcome.DEFERRED):
        raise ValidationError({"outcome": "The outcome is discussed or deferred."})
    if outcome == Outcome.DEFERRED and not reason.strip():
        raise ValidationError({"deferral_reason": "Say why the case is deferred."})
    with transaction.atomic():
        lock(item.meeting)
        item = lock(item)
        if item.outcome != Outcome.PENDING:
            raise Conflict("The outcome of this case is already recorded.", code="outcome_recorded")
        item.outcome, item.deferral_reason = outcome, reason.strip()
        item.save(update_fields=["outcome", "deferral_reason"])
        summary = "Discussed at the meeting" if outcome == Outcome.DISCUSSED else "Deferred at the meeting"
        case_event_add(case=item.case, kind=CaseEventKind.AGENDA, summary=summary, actor=by, note=item.deferral_reason)
        audit_record(
            actor=by,
            action="agenda.outcome",
            obj=item,
            case_id=item.case_id,
            changes={"outcome": outcome, "reason": item.deferral_reason},
        )
        if outcome == Outcome.DEFERRED:
            following = (
                Meeting.objects.filter(
                    board_id=item.meeting.board_id, starts_at__gt=item.meeting.starts_at, status=MeetingStatus.SCHEDULED
                )
                .order_by("starts_at")
                .first()
            )
            if following is not None:
                _roll(item=item, to_meeting=following, by=by)
            # Where the case went, for the answer to the person who deferred it.
            item.deferred_to = following
    return item


def _roll(*, item: AgendaItem, to_meeting: Meeting, by) -> AgendaItem | None:
    if to_meeting.agenda_items.filter(case_id=item.case_id).exists():
        return None
    rolled = _append(
        meeting=to_meeting, case=item.case, presenter=item.presenter, minutes=item.minutes, rolled_from=item
    )
    case_event_add(
        case=item.case,
        kind=CaseEventKind.AGENDA,
        summary=f"Deferred case rolled to the meeting of {timezone.localtime(to_meeting.starts_at):%d %b %Y}",
        actor=by,
    )
    return rolled


def attendance_record_many(*, meeting: Meeting, by, present: list, absent: list) -> list[Attendance]:
    """Record the whole register at once (the portal's attendance form): all rows or none."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        return [
            attendance_record(meeting=meeting, by=by, user=user, present=is_present)
            for users, is_present in ((present, True), (absent, False))
            for user in users
        ]
