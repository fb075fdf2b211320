"""Notifications: each one lands in the person's inbox and is e-mailed by a background job after the commit,
at once or in the daily digest as their preference says. A failed send is retried by the job runner and
never undoes, or blocks, the action that caused it.

Callers pass a subject and body that name a case or meeting by number and a link: never a patient's name
or clinical text (tests/test_notifications.py holds every kind to that).
"""

from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import (
    BoardMembership,
    BreakGlassAccess,
    Case,
    Decision,
    Delivery,
    EmailStatus,
    FollowUp,
    FollowUpStatus,
    JobStatus,
    Meeting,
    MeetingStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    Role,
)
from ..types import User
from .audit import audit_record
from .jobs import job_enqueue


def deliveries_of(users: Iterable[User]) -> dict[tuple[int, str], str]:
    rows = NotificationPreference.objects.filter(user__in=users).values_list("user_id", "kind", "delivery")
    return {(user_id, kind): delivery for user_id, kind, delivery in rows}


def _send_after_commit(notifications: list[Notification]) -> None:
    pending = [n.pk for n in notifications if n.email_status == EmailStatus.PENDING and n.email]
    if pending:
        transaction.on_commit(
            lambda: [
                job_enqueue(kind="notify.email", args={"notification_id": pk}, key=f"notify:{pk}") for pk in pending
            ]
        )


def notify_users(
    *,
    users: Iterable[User | None],
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    case_id: int | None = None,
    meeting_id: int | None = None,
) -> list[Notification]:
    """One notification per active user (each once), e-mailed at once or kept for their digest."""
    people = list({user.pk: user for user in users if user is not None and user.is_active}.values())
    chosen = deliveries_of(people)
    rows = [
        Notification(
            user=user,
            email=user.email,
            kind=kind,
            subject=subject,
            body=body,
            link=link,
            case_id=case_id,
            meeting_id=meeting_id,
            email_status=EmailStatus.DIGEST if chosen.get((user.pk, kind)) == Delivery.DIGEST else EmailStatus.PENDING,
        )
        for user in people
    ]
    created = Notification.objects.bulk_create(rows)
    _send_after_commit(created)
    return created


def notify_address(
    *, email: str, kind: str, subject: str, body: str, link: str = "", case_id: int | None = None
) -> Notification:
    """A message for someone without an account (the referring clinician): e-mail only."""
    notification = Notification.objects.create(
        email=email, kind=kind, subject=subject, body=body, link=link, case_id=case_id
    )
    _send_after_commit([notification])
    return notification


def notification_mark_read(*, user: User, pk: int | None = None) -> int:
    """Mark one of the user's notifications, or all of them, read; returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())


def notification_preferences_set(*, user: User, deliveries: dict[str, str]) -> dict[str, list[str]]:
    """Set the user's delivery per kind; returns what changed (audited)."""
    unknown = set(deliveries) - set(NotificationKind.values) or set(deliveries.values()) - set(Delivery.values)
    if unknown:
        raise ValueError(f"Unknown notification kind or delivery: {sorted(unknown)}")
    with transaction.atomic():
        before = dict.fromkeys(NotificationKind.values, Delivery.IMMEDIATE) | {
            p.kind: p.delivery for p in NotificationPreference.objects.filter(user=user)
        }
        changes = {kind: [before[kind], value] for kind, value in deliveries.items() if before[kind] != value}
        for kind, (_, value) in changes.items():
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": value})
        if changes:
            audit_record(actor=user, action="notification.preferences", obj=user, changes=changes)
    return changes


# The events -----------------------------------------------------------------------------------


def _members(board_id: int, *, specialties: Collection[str] | None = None) -> list[User]:
    memberships = BoardMembership.objects.filter(board_id=board_id, user__is_active=True).select_related("user")
    if specialties is not None:
        memberships = memberships.filter(specialty__in=specialties)
    return [m.user for m in memberships]


def _when(meeting: Meeting, at: datetime | None = None) -> str:
    return f"{timezone.localtime(at or meeting.starts_at):%d %b %Y %H:%M}"


def _tell_members(meeting: Meeting, *, subject: str, body: str) -> list[Notification]:
    """Every member of the meeting's board, with the meeting as it is when the e-mail leaves attached (same UID,
    the latest SEQUENCE; METHOD:CANCEL once cancelled), so their calendars replace what they hold."""
    return notify_users(
        users=_members(meeting.board_id),
        kind=NotificationKind.AGENDA,
        subject=subject,
        body=body,
        link=reverse("meeting-detail", args=[meeting.pk]),
        meeting_id=meeting.pk,
    )


def notify_agenda(*, meeting: Meeting, change: str = "") -> list[Notification]:
    """The board's members: the agenda was published, or changed after it was (`change` says how, naming cases
    by number only)."""
    board, when, count = meeting.board.name, _when(meeting), meeting.agenda_items.count()
    if not change:
        return _tell_members(
            meeting,
            subject=f"{board}: agenda published for the meeting of {when}",
            body=f"The agenda of the {board} meeting of {when} was published: {count} case(s). "
            "The attached invitation shows any slot you present.",
        )
    return _tell_members(
        meeting,
        subject=f"{board}: agenda changed for the meeting of {when}",
        body=f"The agenda of the {board} meeting of {when} changed after it was published: {change}. "
        f"It now lists {count} case(s). The attached invitation replaces the one you have and shows any slot "
        "you present.",
    )


def notify_meeting_moved(*, meeting: Meeting, was: datetime) -> list[Notification]:
    """The board's members, once the agenda is out: the meeting has a new time, place or video link."""
    board, place = meeting.board.name, meeting.location or "by video"
    if was != meeting.starts_at:
        subject = f"{board}: the meeting of {_when(meeting, was)} moves to {_when(meeting)}"
    else:
        subject = f"{board}: the meeting of {_when(meeting)} has a new place or video link"
    return _tell_members(
        meeting,
        subject=subject,
        body=f"The {board} meeting of {_when(meeting, was)} now takes place on {_when(meeting)}, {place}. "
        "The attached invitation replaces the one you have.",
    )


def notify_meeting_cancelled(*, meeting: Meeting, rolled: bool) -> list[Notification]:
    """The board's members, once the agenda is out: the meeting is cancelled. The reason is free text, so it
    stays in the portal."""
    board, when = meeting.board.name, _when(meeting)
    cases = "rolled to the board's next meeting" if rolled else "go back to those awaiting a meeting"
    return _tell_members(
        meeting,
        subject=f"{board}: the meeting of {when} is cancelled",
        body=f"The {board} meeting of {when} is cancelled. Its cases {cases}. The attached cancellation removes "
        "the meeting from your calendar. Sign in to the portal to read why.",
    )


def notify_input_requested(*, meeting: Meeting, reminder: bool = False) -> list[Notification]:
    """Members of each required specialty whose input is missing on a case of the agenda."""
    required = set(meeting.board.required_specialties)
    sent = []
    items = meeting.agenda_items.select_related("case").prefetch_related("case__opinions")
    for item in items:
        given = {opinion.specialty for opinion in item.case.opinions.all()}
        missing = sorted(required - given)
        if not missing:
            continue
        users = _members(meeting.board_id, specialties=missing)
        if reminder:
            already = set(
                Notification.objects.filter(
                    kind=NotificationKind.INPUT_REMINDER, case_id=item.case_id, meeting_id=meeting.pk
                ).values_list("user_id", flat=True)
            )
            users = [user for user in users if user.pk not in already]
        label = "Reminder: input" if reminder else "Input"
        sent += notify_users(
            users=users,
            kind=NotificationKind.INPUT_REMINDER if reminder else NotificationKind.INPUT_REQUESTED,
            subject=f"{label} needed on case {item.case_id} before the meeting of {_when(meeting)}",
            body=f"Case {item.case_id} is on the agenda of the {meeting.board.name} meeting of {_when(meeting)} "
            "and has no input from your specialty yet.",
            link=reverse("case-detail", args=[item.case_id]),
            case_id=item.case_id,
            meeting_id=meeting.pk,
        )
    return sent


def notify_decision_signed(*, case: Case, decision: Decision) -> Notification | None:
    """The referring clinician: a decision exists and where to read it (no consensus or plan by e-mail)."""
    if not case.referring_email:
        return None
    return notify_address(
        email=case.referring_email,
        kind=NotificationKind.DECISION_SIGNED,
        subject=f"Tumor board decision signed — case {case.pk}",
        body=f"The {case.board.name} signed its decision on case {case.pk} on "
        f"{timezone.localtime(decision.signed_at):%d %b %Y %H:%M}. Sign in to the tumor board portal to read "
        "the consensus and plan.",
        link=reverse("case-detail", args=[case.pk]),
        case_id=case.pk,
    )


def notify_follow_ups_due(*, today: date, within_days: int = 7) -> list[Notification]:
    """Owners of planned follow-ups due within a week, or overdue: once per follow-up and state (a withdrawn
    case's follow-up reminds no one)."""
    sent = []
    due = FollowUp.objects.filter(
        status=FollowUpStatus.PLANNED,
        owner__isnull=False,
        due_on__lte=today + timedelta(days=within_days),
        case__withdrawn_at__isnull=True,
    ).select_related("owner", "case")
    told = set(
        Notification.objects.filter(kind=NotificationKind.FOLLOW_UP_DUE).values_list("user_id", "case_id", "subject")
    )
    for follow_up in due:
        state = "overdue" if follow_up.due_on < today else "due"
        subject = f"Follow-up {follow_up.pk} of case {follow_up.case_id} is {state} ({follow_up.due_on:%d %b %Y})"
        if (follow_up.owner_id, follow_up.case_id, subject) in told:
            continue
        sent += notify_users(
            users=[follow_up.owner],
            kind=NotificationKind.FOLLOW_UP_DUE,
            subject=subject,
            body=f"A follow-up you own on case {follow_up.case_id} is {state}. Record it as done, or as deviated "
            "with the reason.",
            link=reverse("case-detail", args=[follow_up.case_id]) + "#follow-up",
            case_id=follow_up.case_id,
        )
    return sent


def notify_daily(today: date | None = None) -> dict[str, int]:
    """The daily round: input reminders for published meetings starting within INPUT_REMINDER_HOURS, follow-ups due
    or overdue, and each user's digest. Safe to run twice a day: a reminder or a due notice goes once, a digest
    once a day (its job key). Run by the job worker every day at TUMORBOARD_DAILY_AT, or by `manage.py notify_daily`.
    `today` is the day the round is for (the job's own, should it run after midnight); by default the local date.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model

    now = timezone.now()
    soon = now + timedelta(hours=settings.INPUT_REMINDER_HOURS)
    meetings = Meeting.objects.filter(
        starts_at__gte=now, starts_at__lte=soon, status=MeetingStatus.SCHEDULED, agenda_published_at__isnull=False
    ).select_related("board")
    reminders = sum(len(notify_input_requested(meeting=meeting, reminder=True)) for meeting in meetings)
    today = today or timezone.localdate()
    due = len(notify_follow_ups_due(today=today))
    waiting = Notification.objects.filter(email_status=EmailStatus.DIGEST).values("user_id")
    users = list(get_user_model().objects.filter(pk__in=waiting).values_list("pk", flat=True))
    queued = 0
    for user_id in users:
        job = job_enqueue(kind="notify.digest", args={"user_id": user_id}, key=f"digest:{user_id}:{today.isoformat()}")
        queued += job.status == JobStatus.QUEUED and job.attempts == 0  # waiting to send: not one sent earlier today
    return {"reminders": reminders, "follow_ups": due, "digests": queued}


def notify_break_glass(*, access: BreakGlassAccess) -> list[Notification]:
    """The coordinators of every board with a case of the patient: someone opened emergency access. It says who,
    when and where to review; never the patient, the reason given or any clinical text."""
    boards = access.patient.cases.values_list("board_id", flat=True)
    coordinators = [
        membership.user
        for membership in BoardMembership.objects.filter(
            board_id__in=boards, role=Role.COORDINATOR, user__is_active=True
        ).select_related("user")
    ]
    who = access.user.get_full_name() or access.user.get_username()
    return notify_users(
        users=coordinators,
        kind=NotificationKind.BREAK_GLASS,
        subject="Tumor board: an emergency access to review",
        body=f"{who} opened emergency (break-the-glass) access to a patient of your board on "
        f"{timezone.localtime(access.granted_at):%d %b %Y %H:%M}. Read the reason and acknowledge it under "
        "Access reviews.",
        link=reverse("break-glass-review"),
    )
