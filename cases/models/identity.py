"""Identity: links to the hospital's OpenID provider, second factors, and break-the-glass access."""

from django.conf import settings
from django.db import models


class IdentityLink(models.Model):
    """A local account as the hospital's provider knows it: matched on issuer and subject, never on e-mail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_links")
    issuer = models.URLField(max_length=300)
    subject = models.CharField("subject (sub)", max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issuer", "subject"]
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="identity_link_one_per_subject")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class AccountSecurity(models.Model):
    """Per-user sign-in rules and the TOTP second factor (RFC 6238)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security")
    password_login_disabled = models.BooleanField(
        default=False, help_text="This person signs in only through the hospital's single sign-on."
    )
    mfa_required = models.BooleanField(default=False, help_text="Require a second factor even if no rule does.")
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    totp_last_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "account security"

    def __str__(self) -> str:
        return f"Sign-in rules of {self.user}"

    @property
    def totp_enrolled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)


class RecoveryCode(models.Model):
    """A one-time code for when the authenticator is lost; only its digest is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id} ({'used' if self.used_at else 'unused'})"


class BoardIdentityPolicy(models.Model):
    """A board that requires every member to use a second factor."""

    board = models.OneToOneField("cases.Board", on_delete=models.CASCADE, related_name="identity_policy")
    mfa_required = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "board identity policies"

    def __str__(self) -> str:
        return f"Identity policy of {self.board}"


class BreakGlassAccess(models.Model):
    """Emergency read-only access by a clinician to a patient of boards they do not belong to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="break_glass_accesses")
    reason = models.TextField()
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    # When the board's coordinators were e-mailed (a background job; never twice).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "expires_at"])]
        verbose_name_plural = "break-the-glass accesses"

    def __str__(self) -> str:
        return f"Emergency access by {self.user} to patient {self.patient_id}"


class WebAuthnCredential(models.Model):
    """A security key or passkey registered as a second factor (WebAuthn); only its public key is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials")
    credential_id = models.CharField(max_length=1400, unique=True)  # base64url, as the browser sends it
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    name = models.CharField(max_length=100, default="Security key")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} of {self.user}"
