"""The job kinds of Tumor Board. Each is safe to run twice: it writes content-addressed files only."""

from django.contrib.auth import get_user_model

from ..printing.documents import PrintRefused, render_meeting_packet
from .registry import JobRefused, job


@job("packet.render")
def packet_render(job, *, progress, meeting_id: int, user_id: int, pdfa: bool = False):
    """Render a meeting packet into the print cache, as the user who asked (their boards decide what they see).

    The result names the packet's fingerprint; the download then reads the cached PDF.
    """
    user = get_user_model().objects.get(pk=user_id, is_active=True)
    try:
        pdf = _render(user, meeting_id, pdfa, progress)
    except PrintRefused as error:
        raise JobRefused(error.message, code=error.code) from None
    return {"fingerprint": pdf.fingerprint, "filename": pdf.filename, "from_cache": pdf.from_cache}


def _render(user, meeting_id, pdfa, progress):
    return render_meeting_packet(user=user, meeting_id=meeting_id, pdfa=pdfa, progress=progress)


@job("notify.email")
def notify_email(job, *, progress, notification_id: int):
    """E-mail one notification (retried with backoff when the mail server fails)."""
    from ..notify.email import send_notification

    return send_notification(notification_id)


@job("notify.daily")
def notify_daily(job, *, progress, day: str):
    """The daily round of reminders, due notices and digests (queued once a day by the worker, keyed by the day)."""
    from datetime import date

    from ..services.notify import notify_daily as daily_round

    return daily_round(today=date.fromisoformat(day))  # the day it was queued for, even if run after midnight


@job("notify.digest")
def notify_digest(job, *, progress, user_id: int):
    from ..notify.email import send_digest

    return {"listed": send_digest(get_user_model().objects.get(pk=user_id))}
