"""The identity job: tell a board's coordinators that someone broke the glass on one of its patients."""

from django.db import transaction
from django.utils import timezone

from ..jobs.registry import job
from ..models import BreakGlassAccess
from ..services.notify import notify_break_glass


@job("break_glass.notify")
def break_glass_notify(job, *, progress, access_id: int):
    """Notify the coordinators of every board with a case of the patient (inbox, and e-mail as each prefers,
    through cases/services/notify.py). Safe to run twice (notified_at)."""
    with transaction.atomic():
        access = BreakGlassAccess.objects.select_for_update().select_related("user", "patient").get(pk=access_id)
        if access.notified_at:
            return {"sent": 0, "already": True}
        notified = notify_break_glass(access=access)
        access.notified_at = timezone.now()
        access.save(update_fields=["notified_at"])
    return {"sent": len(notified)}
