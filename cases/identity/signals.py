"""At every sign-in (the portal's, the provider's, the test client's force_login), decide once whether
this session owes a second factor; the middleware then reads only the session."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services
from .session import BREAK_GLASS_REVIEWER_SESSION_KEY, MFA_ENROL, MFA_OK, MFA_VERIFY, set_mfa_state


def decide_mfa_state(session, user) -> str:
    if services.mfa_enrolled(user):
        state = MFA_VERIFY  # enrolled of one's own accord counts too
    elif services.mfa_required_for(user):
        state = MFA_ENROL
    else:
        state = MFA_OK
    set_mfa_state(session, state)
    reviewer = services.reviews_break_glass(user) or services.permissions.can_read_audit(user)
    session[BREAK_GLASS_REVIEWER_SESSION_KEY] = reviewer
    return state


@receiver(user_logged_in, dispatch_uid="tumorboard_mfa_state")
def _mfa_state_at_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        decide_mfa_state(request.session, user)
