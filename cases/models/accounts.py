from django.conf import settings
from django.db import models


class CredentialEpoch(models.Model):
    """How many times a user's credentials were revoked (password change, deactivation, "sign out everywhere").

    A session remembers the epoch it signed in under and ends once it differs, so a session cannot outlive
    the password it was opened with, nor come back when the account is reactivated.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="credential_epoch"
    )
    epoch = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} epoch {self.epoch}"
