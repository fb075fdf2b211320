"""Meetings: scheduling, the agenda, attendance and each case's outcome."""

from datetime import datetime, timedelta
from typing import Any

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
    DecisionStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    Stage,
)
from ..types import User
from .audit import audit_record, snapshot
from .calendars import meeting_calendar_changed
from .common import (
    NOT_A_MEMBER,
    case_event_add,
    field_label,
    lock,
    model_update,
    require_board_members,
    require_not_withdrawn,
    save_changes,
    save_validated,
)
from .errors import Conflict, Gate, GatesUnmet
from .jobs import packet_prerender
from .notify import notify_agenda, notify_input_requested, notify_meeting_cancelled, notify_meeting_moved
from .plausibility import check_meeting_start

MEETING_FIELDS = ["starts_at", "location", "video_link"]
AGENDA_ITEM_FIELDS = ["presenter", "minutes"]
OPEN_STATUSES = {MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS}


def _require_presenter(board_id: int, presenter: User | None) -> None:
    """A presenter is a member of the board and presents for the specialty that membership holds."""
    require_board_members(board_id=board_id, users=[presenter], field="presenter")
    if (
        presenter is not None
        and not BoardMembership.objects.filter(board_id=board_id, user=presenter, specialty__gt="").exists()
    ):
        raise ValidationError(
            {"presenter": "A presenter speaks for a specialty: choose a clinician of this board, not a coordinator."}
        )


def _agenda_changed(meeting: Meeting, by: User, change: str) -> None:
    """Calendars see a new SEQUENCE; once the agenda is published, members are told what changed (`change`,
    naming cases by number only) and its packet is rendered again in the background."""
    meeting_calendar_changed(meeting)
    if meeting.is_published:
        packet_prerender(meeting=meeting, by=by)
        notify_agenda(meeting=meeting, change=change)


def _require_open(meeting: Meeting) -> None:
    if meeting.status not in OPEN_STATUSES:
        raise Conflict(
            f"The meeting is {meeting.get_status_display().lower()}; its agenda is closed.", code="meeting_closed"
        )


def _refuse_cancelled(meeting: Meeting, what: str) -> None:
    """A cancelled meeting offers nothing but its record (held ones still take outcomes and corrections)."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"The meeting was cancelled; its {what} is closed.", code="meeting_closed")


def meeting_schedule(
    *, board: Board, by: User, starts_at: datetime, location: str = "", video_link: str = "", back_entry: bool = False
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
            _roll(item=item, to_meeting=meeting, by=by)  # a new meeting: nothing to re-announce
    return meeting


def meeting_reschedule(*, meeting: Meeting, by: User, **fields: Any) -> Meeting:
    """Move a scheduled meeting: its start, room or video link (what is left out stays). Calendars replace the
    event (same UID, next SEQUENCE); once the agenda is published, members are told and the packet re-rendered."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    if "starts_at" in fields:
        check_meeting_start(fields["starts_at"])
    with transaction.atomic():
        meeting = lock(meeting)
        if meeting.status != MeetingStatus.SCHEDULED:
            raise Conflict(
                f"The meeting is {meeting.get_status_display().lower()}; only a scheduled meeting is moved.",
                code="meeting_not_scheduled",
            )
        was = meeting.starts_at
        changes = model_update(instance=meeting, fields=MEETING_FIELDS, data=fields)
        if not changes:
            return meeting
        save_changes(instance=meeting, changes=changes, by=by, action="meeting.reschedule")
        meeting_calendar_changed(meeting)
        if meeting.is_published:
            packet_prerender(meeting=meeting, by=by)
            notify_meeting_moved(meeting=meeting, was=was)
    return meeting


def agenda_add(
    *, meeting: Meeting, case: Case, by: User, presenter: User | None = None, minutes: int = 10
) -> AgendaItem:
    permissions.require(by, "meeting.manage", meeting.board_id)
    if case.board_id != meeting.board_id:
        raise ValidationError({"case": "The case belongs to another board."})
    if not case.is_referral_complete:
        missing = ", ".join(field_label(Case, n) for n in case.missing_referral_fields)
        raise Conflict(
            f"An incomplete referral cannot go on the agenda (missing: {missing}).", code="referral_incomplete"
        )
    if case.stage == Stage.CLOSED:
        raise Conflict("A closed case cannot go on an agenda; reopen it first.", code="case_closed")
    require_not_withdrawn(case)
    _require_presenter(meeting.board_id, presenter)
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
        _agenda_changed(meeting, by, f"case {case.pk} was added")
    return item


def _append(
    *,
    meeting: Meeting,
    case: Case,
    presenter: User | None = None,
    minutes: int = 10,
    rolled_from: AgendaItem | None = None,
) -> AgendaItem:
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


def agenda_item_update(
    *, item: AgendaItem, by: User, presenter: User | None = None, minutes: int | None = None
) -> AgendaItem:
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    _require_presenter(item.meeting.board_id, presenter)
    with transaction.atomic():
        _require_open(lock(item.meeting))
        item = lock(item)
        data = {"presenter": presenter} | ({"minutes": minutes} if minutes is not None else {})
        changes = model_update(instance=item, fields=AGENDA_ITEM_FIELDS, data=data)
        if not changes:
            return item
        save_changes(instance=item, changes=changes, by=by, action="agenda.update")
        _agenda_changed(item.meeting, by, f"the presenter or time of case {item.case_id} changed")
    return item


def agenda_remove(*, item: AgendaItem, by: User) -> None:
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    with transaction.atomic():
        meeting = lock(item.meeting)
        _require_open(meeting)
        item = lock(item)
        if item.outcome != Outcome.PENDING:
            raise Conflict("A case already discussed or deferred stays on the agenda.", code="outcome_recorded")
        audit_record(actor=by, action="agenda.remove", obj=item, case_id=item.case_id, changes={"meeting": meeting.pk})
        case_event_add(case=item.case, kind=CaseEventKind.AGENDA, summary="Removed from the agenda", actor=by)
        case_id = item.case_id
        item.delete()
        _agenda_changed(meeting, by, f"case {case_id} was removed")


def agenda_reorder(*, meeting: Meeting, by: User, item_ids: list[int]) -> list[AgendaItem]:
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        _require_open(meeting)
        items = {item.pk: item for item in meeting.agenda_items.select_for_update()}
        if sorted(item_ids) != sorted(items) or len(set(item_ids)) != len(item_ids):
            raise ValidationError({"items": "Give every agenda item of this meeting exactly once."})
        unchanged = sorted(items, key=lambda pk: items[pk].position) == list(item_ids)
        for position, pk in enumerate(item_ids, start=1):
            items[pk].position = position
        AgendaItem.objects.bulk_update(items.values(), ["position"])
        audit_record(actor=by, action="agenda.reorder", obj=meeting, changes={"order": list(item_ids)})
        if not unchanged:
            _agenda_changed(meeting, by, "the cases were put in a new order")
    return [items[pk] for pk in item_ids]


def agenda_publish(*, meeting: Meeting, by: User) -> Meeting:
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
        notify_agenda(meeting=meeting)
        notify_input_requested(meeting=meeting)
    return meeting


def agenda_unpublish(*, meeting: Meeting, by: User) -> Meeting:
    """Take a published agenda back to draft before the meeting (published too early, or by mistake).

    Cases already flagged as late additions keep the flag: they were added after members were told.
    """
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        _require_open(meeting)
        if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= timezone.now():
            raise Conflict("An agenda is unpublished only before its meeting starts.", code="meeting_started")
        if not meeting.is_published:
            raise Conflict("The agenda is not published.", code="not_published")
        published_at, meeting.agenda_published_at = meeting.agenda_published_at, None
        meeting.save(update_fields=["agenda_published_at"])
        audit_record(actor=by, action="agenda.unpublish", obj=meeting, changes={"published_at": [published_at, None]})
    return meeting


# Meeting status: scheduled → in progress → held, or cancelled with a reason ----------------------

# A meeting may be opened a little early (people gather), never days ahead.
START_EARLY = timedelta(hours=1)
CANCEL_AGENDA = {"release": "back to the cases awaiting a meeting", "roll": "rolled to the board's next meeting"}


def _status_conflict(meeting: Meeting, to: str) -> Conflict:
    return Conflict(
        f"The meeting is {meeting.get_status_display().lower()}; it cannot become {MeetingStatus(to).label.lower()}. "
        "Reload the meeting to see where it stands.",
        code="meeting_status_not_allowed",
    )


def _apply_status(*, meeting: Meeting, by: User, to: str, changes: dict[str, Any] | None = None) -> Meeting:
    before = meeting.status
    meeting.status = to
    meeting.save(update_fields=["status", "cancel_reason"])
    audit_record(actor=by, action="meeting.status", obj=meeting, changes={"status": [before, to], **(changes or {})})
    meeting_calendar_changed(meeting)
    return meeting


def meeting_start(*, meeting: Meeting, by: User) -> Meeting:
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        if meeting.status != MeetingStatus.SCHEDULED:
            raise _status_conflict(meeting, MeetingStatus.IN_PROGRESS)
        opens = meeting.starts_at - START_EARLY
        if timezone.now() < opens:
            raise GatesUnmet(
                "The meeting cannot start yet.",
                [
                    Gate(
                        "meeting_not_due",
                        f"The meeting is set for {timezone.localtime(meeting.starts_at):%d %b %Y %H:%M}: "
                        "it can be started from an hour before.",
                    )
                ],
            )
        return _apply_status(meeting=meeting, by=by, to=MeetingStatus.IN_PROGRESS)


def meeting_end(*, meeting: Meeting, by: User) -> Meeting:
    """The meeting is held: its attendance is frozen from now on (corrections carry a reason)."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        meeting = lock(meeting)
        if meeting.status != MeetingStatus.IN_PROGRESS:
            raise _status_conflict(meeting, MeetingStatus.HELD)
        return _apply_status(meeting=meeting, by=by, to=MeetingStatus.HELD)


def meeting_cancel(*, meeting: Meeting, by: User, reason: str, agenda: str = "release") -> Meeting:
    """Cancel with a reason; its pending cases go back to those awaiting a meeting, or roll to the next one."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    if agenda not in CANCEL_AGENDA:
        raise ValidationError({"agenda": "Choose what happens to the agenda's cases: release or roll."})
    with transaction.atomic():
        meeting = lock(meeting)
        if meeting.status not in OPEN_STATUSES:
            raise _status_conflict(meeting, MeetingStatus.CANCELLED)
        gates = []
        if not (reason or "").strip():
            gates.append(Gate("reason_required", "Say why the meeting is cancelled."))
        if meeting.decisions.filter(status=DecisionStatus.SIGNED).exists():
            gates.append(Gate("meeting_has_signed_decision", "A decision was signed at this meeting: end it instead."))
        if gates:
            raise GatesUnmet("The meeting cannot be cancelled.", gates)
        meeting.cancel_reason = reason.strip()
        moved = _release_agenda(meeting=meeting, by=by, agenda=agenda)
        _apply_status(
            meeting=meeting,
            by=by,
            to=MeetingStatus.CANCELLED,
            changes={"reason": meeting.cancel_reason, "agenda": agenda, "cases": moved},
        )
        if meeting.is_published:
            notify_meeting_cancelled(meeting=meeting, rolled=agenda == "roll")
        return meeting


def _release_agenda(*, meeting: Meeting, by: User, agenda: str) -> list[int]:
    """Pending cases are deferred with the cancellation as reason; rolled on now, or when the next is scheduled."""
    following = _next_meeting(meeting) if agenda == "roll" else None
    pending = list(meeting.agenda_items.filter(outcome=Outcome.PENDING).select_related("case"))
    for item in pending:
        item.outcome, item.deferral_reason = Outcome.DEFERRED, f"Meeting cancelled: {meeting.cancel_reason}"
        item.save(update_fields=["outcome", "deferral_reason"])
        case_event_add(
            case=item.case,
            kind=CaseEventKind.AGENDA,
            summary="Meeting cancelled: the case awaits a meeting",
            actor=by,
            note=meeting.cancel_reason,
        )
    if following is not None:
        _roll_on(pending, to_meeting=following, by=by)
    return [item.case_id for item in pending]


def meeting_set_status(
    *, meeting: Meeting, by: User, status: str, reason: str = "", agenda: str = "release"
) -> Meeting:
    """The API's one status action, each move through its own service and gates."""
    if status == MeetingStatus.IN_PROGRESS:
        return meeting_start(meeting=meeting, by=by)
    if status == MeetingStatus.HELD:
        return meeting_end(meeting=meeting, by=by)
    if status == MeetingStatus.CANCELLED:
        return meeting_cancel(meeting=meeting, by=by, reason=reason, agenda=agenda)
    permissions.require(by, "meeting.manage", meeting.board_id)
    raise _status_conflict(meeting, status)


# Attendance: what members' board memberships say, frozen once the meeting is held -------------


def attendance_is_frozen(meeting: Meeting) -> bool:
    if meeting.status == MeetingStatus.HELD:
        return True
    return any(d.status == DecisionStatus.SIGNED for d in meeting.decisions.all())


def _attendee(meeting: Meeting, user: User, specialty: str | None) -> BoardMembership:
    member = BoardMembership.objects.filter(board_id=meeting.board_id, user=user).first()
    if member is None:
        raise ValidationError({"user": NOT_A_MEMBER["user"]})
    if specialty is not None and specialty != member.specialty:
        held = member.get_specialty_display().lower() if member.specialty else "no specialty (coordinator)"
        raise ValidationError(
            {
                "specialty": f"{user.get_full_name() or user.get_username()} attends for {held}, the specialty of "
                "their membership of this board; attendance records no other."
            }
        )
    return member


def attendance_record(
    *, meeting: Meeting, by: User, user: User, present: bool = True, specialty: str | None = None
) -> Attendance:
    """Present or absent, for the specialty the member holds on this board (a different one is refused)."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    member = _attendee(meeting, user, specialty)
    with transaction.atomic():
        meeting = lock(meeting)
        _refuse_cancelled(meeting, "attendance")
        if attendance_is_frozen(meeting):
            raise Conflict(
                "Attendance is frozen: the meeting is held or a decision of it is signed. "
                "Record a correction, with its reason.",
                code="attendance_frozen",
            )
        attendance, created = Attendance.objects.update_or_create(
            meeting=meeting, user=user, defaults={"present": present, "specialty": member.specialty}
        )
        audit_record(
            actor=by,
            action="attendance.record",
            obj=attendance,
            changes={"meeting": meeting.pk, "user": user.pk, "present": present, "specialty": attendance.specialty},
        )
    return attendance


def attendance_correct(*, meeting: Meeting, by: User, user: User, present: bool, reason: str) -> Attendance:
    """Correct frozen attendance, with a reason. Decisions already signed keep the attendance they were signed with."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    member = _attendee(meeting, user, None)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the attendance of a held meeting is corrected."})
    with transaction.atomic():
        meeting = lock(meeting)
        _refuse_cancelled(meeting, "attendance")
        if not attendance_is_frozen(meeting):
            raise Conflict("Attendance is still open: record it instead.", code="attendance_open")
        row = Attendance.objects.filter(meeting=meeting, user=user).select_for_update().first()
        before = None if row is None else row.present
        row = row or Attendance(meeting=meeting, user=user, specialty=member.specialty)
        row.present, row.specialty = present, member.specialty
        row.correction_reason, row.corrected_at = reason.strip(), timezone.now()
        row.save()
        audit_record(
            actor=by,
            action="attendance.correct",
            obj=row,
            changes={
                "meeting": meeting.pk,
                "user": user.pk,
                "present": [before, present],
                "reason": row.correction_reason,
            },
        )
    return row


def agenda_item_record_outcome(
    *, item: AgendaItem, by: User, outcome: str, reason: str = "", actual_minutes: int | None = None
) -> AgendaItem:
    """Discussed, or deferred with a reason; a deferred case rolls onto the board's next meeting.

    `actual_minutes`, when given, is how long the discussion took (board analytics compare it with the slot).
    A deferred item's `deferred_to` is that meeting (None when no later meeting is scheduled yet).
    """
    permissions.require(by, "meeting.manage", item.meeting.board_id)
    if outcome not in (Outcome.DISCUSSED, Outcome.DEFERRED):
        raise ValidationError({"outcome": "The outcome is discussed or deferred."})
    if actual_minutes is not None and not (isinstance(actual_minutes, int) and 1 <= actual_minutes <= 240):
        raise ValidationError({"actual_minutes": "Give the minutes the discussion took, 1 to 240."})
    if outcome == Outcome.DEFERRED and not reason.strip():
        raise ValidationError({"deferral_reason": "Say why the case is deferred."})
    with transaction.atomic():
        _refuse_cancelled(lock(item.meeting), "agenda")
        item = lock(item)
        if item.outcome != Outcome.PENDING:
            raise Conflict("The outcome of this case is already recorded.", code="outcome_recorded")
        item.outcome, item.deferral_reason, item.actual_minutes = outcome, reason.strip(), actual_minutes
        item.save(update_fields=["outcome", "deferral_reason", "actual_minutes"])
        summary = "Discussed at the meeting" if outcome == Outcome.DISCUSSED else "Deferred at the meeting"
        case_event_add(case=item.case, kind=CaseEventKind.AGENDA, summary=summary, actor=by, note=item.deferral_reason)
        audit_record(
            actor=by,
            action="agenda.outcome",
            obj=item,
            case_id=item.case_id,
            changes={"outcome": outcome, "reason": item.deferral_reason}
            | ({"actual_minutes": actual_minutes} if actual_minutes is not None else {}),
        )
        if outcome == Outcome.DEFERRED:
            following = _next_meeting(item.meeting)
            if following is not None:
                _roll_on([item], to_meeting=following, by=by)
            # Where the case went, for the answer to the person who deferred it.
            item.deferred_to = following
    return item


def _next_meeting(meeting: Meeting) -> Meeting | None:
    """The board's next scheduled meeting after this one: where its deferred cases go."""
    later = Meeting.objects.filter(board_id=meeting.board_id, starts_at__gt=meeting.starts_at)
    return later.filter(status=MeetingStatus.SCHEDULED).order_by("starts_at").first()


def _roll_on(items: list[AgendaItem], *, to_meeting: Meeting, by: User) -> None:
    """Deferred cases join the next meeting's agenda and, like any addition, are announced: the calendar event
    changes and, once that agenda is published, members are told (once for all of them) and the packet re-renders."""
    rolled = [item for item in items if _roll(item=item, to_meeting=to_meeting, by=by)]
    if rolled:
        when = timezone.localtime(rolled[0].meeting.starts_at)
        cases = ", ".join(str(item.case_id) for item in rolled)
        what = f"case {cases} was" if len(rolled) == 1 else f"cases {cases} were"
        _agenda_changed(to_meeting, by, f"{what} deferred to it from the meeting of {when:%d %b %Y}")


def _roll(*, item: AgendaItem, to_meeting: Meeting, by: User) -> AgendaItem | None:
    """A deferred case joins the next meeting's agenda (unless already on it). Announcing it is the caller's:
    _roll_on for a meeting that exists, nothing for one being scheduled."""
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


def attendance_record_many(*, meeting: Meeting, by: User, present: list[User], absent: list[User]) -> list[Attendance]:
    """Record the whole register at once (the portal's attendance form): all rows or none."""
    permissions.require(by, "meeting.manage", meeting.board_id)
    with transaction.atomic():
        return [
            attendance_record(meeting=meeting, by=by, user=user, present=is_present)
            for users, is_present in ((present, True), (absent, False))
            for user in users
        ]
