"""Notifications: each one lands in the person's inbox and is e-mailed by a background job after the commit,
at once or in the daily digest as their preference says. A failed send is retried by the job runner and
never undoes, or blocks, the action that caused it.

Callers pass a subject and body that name a case or meeting by number and a link: never a patient's name
or clinical text (tests/test_notifications.py holds every kind to that).
"""

from collections.abc import Collection, Iterable
from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import (
    BoardMembership,
    Case,
    Decision,
    Delivery,
    EmailStatus,
    FollowUp,
    FollowUpStatus,
    Meeting,
    Notification,
    NotificationKind,
    NotificationPreference,
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


def _when(meeting: Meeting) -> str:
    return f"{timezone.localtime(meeting.starts_at):%d %b %Y %H:%M}"


def notify_agenda(*, meeting: Meeting, changed: bool = False) -> list[Notification]:
    """The board's members: the agenda was published (or changed after), with the meeting as an invitation."""
    what = "changed" if changed else "published"
    count = meeting.agenda_items.count()
    return notify_users(
        users=_members(meeting.board_id),
        kind=NotificationKind.AGENDA,
        subject=f"{meeting.board.name}: agenda {what} for the meeting of {_when(meeting)}",
        body=f"The agenda of the {meeting.board.name} meeting of {_when(meeting)} was {what}: {count} case(s). "
        "The attached invitation shows any slot you present.",
        link=reverse("meeting-detail", args=[meeting.pk]),
        meeting_id=meeting.pk,
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
