"""What the session remembers about identity, so that no page pays a query for it."""

from django.utils import timezone

MFA_SESSION_KEY = "_tb_mfa"  # "ok", "enrol" (must enrol first) or "verify" (must give a code)
ID_TOKEN_SESSION_KEY = "_tb_oidc_id_token"  # the provider's ID token, sent back as a hint at sign-out
BREAK_GLASS_SESSION_KEY = "_tb_break_glass"  # {access id: expiry timestamp}, for the banner
BREAK_GLASS_REVIEWER_SESSION_KEY = "_tb_break_glass_reviewer"  # shows the review queue in the menu
RECOVERY_CODES_SESSION_KEY = "_tb_recovery_codes"  # new recovery codes, until the page that shows them
PENDING_SECRET_SESSION_KEY = "_tb_totp_pending"  # a TOTP key shown for enrolment, not yet confirmed

MFA_OK, MFA_ENROL, MFA_VERIFY = "ok", "enrol", "verify"


def mfa_state(session) -> str | None:
    return session.get(MFA_SESSION_KEY)


def set_mfa_state(session, state: str) -> None:
    session[MFA_SESSION_KEY] = state


def break_glass_remember(session, *, access) -> None:
    active = dict(session.get(BREAK_GLASS_SESSION_KEY, {}))
    active[str(access.pk)] = access.expires_at.timestamp()
    session[BREAK_GLASS_SESSION_KEY] = active


def break_glass_active(session) -> list[tuple[int, object]]:
    """(access id, expiry) of the emergency accesses still running, soonest end first."""
    now = timezone.now().timestamp()
    active = session.get(BREAK_GLASS_SESSION_KEY, {}) if session is not None else {}
    return sorted(
        (
            (int(pk), timezone.datetime.fromtimestamp(ts, tz=timezone.get_current_timezone()))
            for pk, ts in active.items()
            if ts > now
        ),
        key=lambda item: item[1],
    )
