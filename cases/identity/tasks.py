"""The identity job: tell a board's coordinators that someone broke the glass on one of its patients."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from ..jobs.registry import job
from ..models import BoardMembership, BreakGlassAccess, Role


@job("break_glass.notify")
def break_glass_notify(job, *, progress, access_id: int):
    """E-mail the coordinators of every board with a case of the patient. No patient identifier or clinical
    text travels by e-mail: it says who, when and where to review. Safe to run twice (notified_at)."""
    with transaction.atomic():
        access = BreakGlassAccess.objects.select_for_update().select_related("user").get(pk=access_id)
        if access.notified_at:
            return {"sent": 0, "already": True}
        boards = access.patient.cases.values_list("board_id", flat=True)
        emails = sorted(
            set(
                BoardMembership.objects.filter(board_id__in=boards, role=Role.COORDINATOR, user__is_active=True)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        if emails:
            who = access.user.get_full_name() or access.user.get_username()
            when = timezone.localtime(access.granted_at).strftime("%d %b %Y %H:%M")
            send_mail(
                "Tumor Board: an emergency access to review",
                f"{who} opened emergency (break-the-glass) access to a patient of your board on {when}.\n"
                "Read the reason and acknowledge it in Tumor Board: Access reviews (/emergency-access/review/).",
                settings.DEFAULT_FROM_EMAIL,
                emails,
            )
        access.notified_at = timezone.now()
        access.save(update_fields=["notified_at"])
    return {"sent": len(emails)}
