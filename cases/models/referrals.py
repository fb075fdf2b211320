from django.conf import settings
from django.db import models


class ReferralIntake(models.Model):
    """A referral Bundle taken in: its identifier makes a resend return the same case (idempotent)."""

    bundle_system = models.CharField(max_length=200)
    bundle_value = models.CharField(max_length=200)
    # The body's digest: the same identifier with other content is a conflict, not a resend.
    digest = models.CharField(max_length=64)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="referral_intakes")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle_system", "bundle_value"], name="referral_intake_identifier_unique")
        ]

    def __str__(self) -> str:
        return f"Referral {self.bundle_system}|{self.bundle_value} → case {self.case_id}"
