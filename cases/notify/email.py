"""Sending notifications by e-mail (SMTP when DJANGO_EMAIL_HOST is set). Safe to run twice: a message
already sent is not sent again. An agenda message carries the meeting as an ICS invitation, with the
recipient's own presenting slots."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .. import selectors
from ..calendars import ics
from ..models import EmailStatus, Notification, NotificationKind
from ..services.audit import audit_record

FOOTER = "\n\nThis message names no patient. Sign in to the tumor board portal to read the case."


def absolute(link: str) -> str:
    return settings.PORTAL_URL.rstrip("/") + link if link else settings.PORTAL_URL


def _message(notification: Notification) -> EmailMessage:
    body = notification.body + (f"\n\n{absolute(notification.link)}" if notification.link else "") + FOOTER
    message = EmailMessage(
        subject=notification.subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[notification.email]
    )
    if notification.kind == NotificationKind.AGENDA and notification.meeting_id and notification.user:
        meeting = selectors.meetings_for_calendar(user=notification.user, pk=notification.meeting_id)[0]
        invitation = ics.meeting_calendar(meeting, user=notification.user, base_url=absolute("/"))
        content_type = f"text/calendar; method={ics.method_of(meeting)}"  # Django adds the charset
        message.attach(ics.filename(meeting), invitation, content_type)
    return message


def send_notification(notification_id: int) -> dict:
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    if notification.email_status != EmailStatus.PENDING or not notification.email:
        return {"sent": False}
    _message(notification).send(fail_silently=False)  # a failure raises: the job is retried
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk).update(email_status=EmailStatus.SENT, sent_at=timezone.now())
        audit_record(
            actor=None,
            action="notification.sent",
            obj=notification,
            case_id=notification.case_id,
            changes={"kind": notification.kind, "to_user": notification.user_id},
        )
    return {"sent": True}


def send_digest(user) -> int:
    """One e-mail with every notification the user keeps for the digest; returns how many it listed."""
    waiting = list(Notification.objects.filter(user=user, email_status=EmailStatus.DIGEST).order_by("created_at"))
    if not waiting or not user.email:
        return 0
    lines = [f"- {n.subject}" + (f"\n  {absolute(n.link)}" if n.link else "") for n in waiting]
    body = f"{len(waiting)} tumor board notification(s) since your last digest:\n\n" + "\n".join(lines) + FOOTER
    EmailMessage(
        subject=f"Tumor board: your daily digest ({len(waiting)})",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    ).send(fail_silently=False)
    with transaction.atomic():
        Notification.objects.filter(pk__in=[n.pk for n in waiting], email_status=EmailStatus.DIGEST).update(
            email_status=EmailStatus.SENT, sent_at=timezone.now()
        )
        audit_record(actor=None, action="notification.digest_sent", obj=user, changes={"count": len(waiting)})
    return len(waiting)
