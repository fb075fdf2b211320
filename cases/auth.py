"""Authentication hooks: the lockout backend and the audit of logins, failures and lockouts."""

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .services.audit import audit_record

LOGIN_AT_SESSION_KEY = "_tb_login_at"


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come from a request.

    Code that authenticates without a request (management commands, the test client's
    login()) has no client to lock out; the password is still checked by the model backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_logged_in, dispatch_uid="tumorboard_login_audit")
def _audit_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_SESSION_KEY] = timezone.now().timestamp()
    audit_record(actor=user, action="auth.login", object_type="user", object_id=user.pk)


@receiver(user_login_failed, dispatch_uid="tumorboard_login_failure_audit")
def _audit_login_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=None, action="auth.login_failed", object_type="user", changes={"username": username})


@receiver(user_locked_out, dispatch_uid="tumorboard_lockout_audit")
def _audit_lockout(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(actor=None, action="auth.locked_out", object_type="user", changes={"username": str(username or "")})
