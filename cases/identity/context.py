from django.conf import settings

from . import oidc
from .session import BREAK_GLASS_REVIEWER_SESSION_KEY, MFA_OK, break_glass_active, mfa_state


def identity(request) -> dict:
    """The sign-in choices and the break-the-glass banner; read from settings and the session, no query."""
    session = getattr(request, "session", None)
    return {
        "sso_enabled": oidc.is_configured(),
        "sso_name": settings.OIDC_PROVIDER_NAME,
        "password_login_enabled": settings.PASSWORD_LOGIN_ENABLED,
        # Signed in, but the second factor is still owed: the menu offers only signing out.
        "mfa_pending": session is not None and mfa_state(session) not in (None, MFA_OK),
        "break_glass_reviewer": bool(session is not None and session.get(BREAK_GLASS_REVIEWER_SESSION_KEY)),
        "break_glass_banner": break_glass_active(session) if session is not None else [],
    }
