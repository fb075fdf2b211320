"""The rules of identity: who a provider's sign-in is, memberships from groups, the second factor,
and break-the-glass access. Each write is atomic with its audit row."""

import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    AccountSecurity,
    Board,
    BoardIdentityPolicy,
    BoardMembership,
    BreakGlassAccess,
    IdentityLink,
    Patient,
    RecoveryCode,
    Role,
    WebAuthnCredential,
)
from ..services.audit import audit_record
from ..services.jobs import job_enqueue
from .oidc import SsoRefused

User = get_user_model()


# Single sign-on ------------------------------------------------------------------------------


def sso_refusal_record(*, refusal: SsoRefused, issuer: str) -> None:
    changes = {"reason": refusal.code, "issuer": issuer, **{k: str(v)[:200] for k, v in refusal.details.items()}}
    audit_record(actor=None, action="auth.sso_refused", object_type="user", changes=changes)


def sso_user_for(*, issuer: str, claims: dict):
    """The local account linked to (issuer, sub); created just in time only when the setting allows it."""
    subject = str(claims["sub"])
    link = IdentityLink.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if link is None and settings.OIDC_CREATE_USERS:
        link = _sso_user_create(issuer=issuer, subject=subject, claims=claims)
    if link is None:
        raise SsoRefused(
            "unknown_user",
            "Your hospital account is not linked to a Tumor Board account. Ask a Tumor Board administrator "
            f"to link it (subject {subject[:80]}).",
            sub=subject,
        )
    if not link.user.is_active:
        raise SsoRefused("account_disabled", "Your Tumor Board account is disabled. Ask an administrator.", sub=subject)
    with transaction.atomic():
        IdentityLink.objects.filter(pk=link.pk).update(last_login_at=timezone.now())
        audit_record(
            actor=link.user, action="auth.sso_login", obj=link.user, changes={"issuer": issuer, "sub": subject}
        )
        groups_claim = claims.get(settings.OIDC_CLAIM_GROUPS)
        if settings.OIDC_GROUP_BOARDS and isinstance(groups_claim, list):
            memberships_sync_from_groups(user=link.user, groups=[str(g) for g in groups_claim])
    return link.user


def _sso_user_create(*, issuer: str, subject: str, claims: dict) -> IdentityLink:
    username = str(claims.get(settings.OIDC_CLAIM_USERNAME) or "")[:150]
    if not username or User.objects.filter(username=username).exists():
        raise SsoRefused(
            "username_taken",
            "A Tumor Board account could not be created for you: its username is missing or taken. "
            "Ask an administrator to link your account.",
            sub=subject,
        )
    with transaction.atomic():
        user = User(username=username, email=str(claims.get(settings.OIDC_CLAIM_EMAIL) or "")[:254])
        user.first_name = str(claims.get("given_name") or "")[:150]
        user.last_name = str(claims.get("family_name") or "")[:150]
        user.set_unusable_password()
        user.save()
        link = IdentityLink.objects.create(user=user, issuer=issuer, subject=subject)
        audit_record(actor=None, action="auth.sso_user_created", obj=user, changes={"issuer": issuer, "sub": subject})
    return link


def group_board_rules() -> dict[str, tuple[str, str, str]]:
    """TUMORBOARD_OIDC_GROUP_BOARDS "group=Board name:role[:specialty];…" as {group: (board, role, specialty)}."""
    rules = {}
    for item in filter(None, (part.strip() for part in settings.OIDC_GROUP_BOARDS.split(";"))):
        group, _, target = item.partition("=")
        board, role, specialty = ([*target.split(":"), "", ""])[:3]
        rules[group.strip()] = (board.strip(), role.strip(), specialty.strip())
    return rules


def memberships_sync_from_groups(*, user, groups: list[str]) -> None:
    """Memberships of the boards the rules name follow the groups claim; other boards are left alone."""
    rules = group_board_rules()
    boards = {b.name: b for b in Board.objects.filter(name__in=[rule[0] for rule in rules.values()])}
    wanted = {
        boards[board].pk: (role, specialty)
        for group, (board, role, specialty) in rules.items()
        if group in groups and board in boards
    }
    current = {m.board_id: m for m in BoardMembership.objects.filter(user=user, board__in=boards.values())}
    for board_id, membership in current.items():
        if board_id not in wanted:
            audit_record(actor=None, action="membership.remove", obj=membership, changes={"from": "groups claim"})
            membership.delete()
    for board_id, (role, specialty) in wanted.items():
        membership = current.get(board_id)
        if membership and (membership.role, membership.specialty) == (role, specialty):
            continue
        membership = membership or BoardMembership(user=user, board_id=board_id)
        membership.role, membership.specialty = role, specialty
        membership.full_clean(validate_unique=False)
        membership.save()
        audit_record(
            actor=None, action="membership.set", obj=membership, changes={"role": role, "specialty": specialty}
        )
    permissions.forget_memberships(user)


def password_login_allowed(*, username: str) -> bool:
    if not settings.PASSWORD_LOGIN_ENABLED:
        return False
    return not AccountSecurity.objects.filter(user__username=username, password_login_disabled=True).exists()


# The second factor ---------------------------------------------------------------------------

MFA_METHODS = ("totp", "recovery")


class SecondFactorRefused(Exception):
    def __init__(self, message: str = "The code is not correct or was already used. Enter a new code."):
        super().__init__(message)
        self.message = message


def security_of(user) -> AccountSecurity:
    return AccountSecurity.objects.get_or_create(user=user)[0]


def mfa_required_for(user) -> bool:
    """Staff and administrators (or everyone, or no one, by setting), a board's policy, or the account's own flag."""
    security = AccountSecurity.objects.filter(user=user).first()
    if security and security.mfa_required:
        return True
    rule = settings.MFA_REQUIRED
    if rule == "all" or (rule == "staff" and (user.is_staff or user.is_superuser)):
        return True
    return BoardIdentityPolicy.objects.filter(
        mfa_required=True, board__memberships__user=user, board__is_active=True
    ).exists()


def mfa_enrolled(user) -> bool:
    """An authenticator app or a security key."""
    security = AccountSecurity.objects.filter(user=user).first()
    return bool(security and security.totp_enrolled) or WebAuthnCredential.objects.filter(user=user).exists()


def totp_new_secret() -> str:
    return pyotp.random_base32(length=32)


def totp_uri(*, user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=settings.MFA_ISSUER_NAME)


def totp_qr_svg(uri: str) -> str:
    """The set-up link as a QR code an authenticator app scans: inline SVG (no script, no style attribute, so
    the CSP allows it), black on the page's white."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, title="QR code of the authenticator set-up link")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (RFC 6238, 30 s) this code belongs to: the current one or the one before (clock drift)."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), timezone.now()
    for back in (0, 1):
        moment = now - timedelta(seconds=30 * back)
        if hmac.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None


def _recovery_digest(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").lower()
    return hmac.new(settings.SECRET_KEY.encode(), normal.encode(), hashlib.sha256).hexdigest()


def _new_recovery_codes(user) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(settings.MFA_RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, digest=_recovery_digest(c)) for c in codes])
    return codes


def totp_enrol(*, user, secret: str, code: str) -> list[str]:
    """Confirm a new authenticator with a code from it; replaces any earlier one. The new recovery codes."""
    step = _matching_step(secret, code)
    if step is None:
        audit_record(actor=user, action="auth.mfa_enrol_failed", obj=user)
        raise SecondFactorRefused("The code does not match this key. Check the authenticator's clock and try again.")
    with transaction.atomic():
        security = AccountSecurity.objects.select_for_update().get_or_create(user=user)[0]
        again = security.totp_enrolled
        security.totp_secret, security.totp_confirmed_at, security.totp_last_step = secret, timezone.now(), step
        security.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        codes = _new_recovery_codes(user)
        audit_record(actor=user, action="mfa.reenrolled" if again else "mfa.enrolled", obj=user)
    return codes


def second_factor_verify(*, user, code: str) -> str:
    """Accept a current TOTP code (never one already used) or an unused recovery code: which one it was."""
    with transaction.atomic():
        security = AccountSecurity.objects.select_for_update().filter(user=user).first()
        method = None
        if security and security.totp_enrolled:
            step = _matching_step(security.totp_secret, code)
            if step is not None and step > security.totp_last_step:
                security.totp_last_step = step
                security.save(update_fields=["totp_last_step"])
                method = "totp"
        if method is None:
            used = RecoveryCode.objects.filter(user=user, digest=_recovery_digest(code), used_at__isnull=True).update(
                used_at=timezone.now()
            )
            method = "recovery" if used else None
        if method:
            left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            audit_record(
                actor=user, action="mfa.verified", obj=user, changes={"method": method, "recovery_codes_left": left}
            )
            return method
    audit_record(actor=user, action="auth.mfa_failed", obj=user)
    raise SecondFactorRefused()


def mfa_reset(*, user, by) -> None:
    """An administrator's reset: the person enrols again at their next sign-in."""
    with transaction.atomic():
        AccountSecurity.objects.filter(user=user).update(totp_secret="", totp_confirmed_at=None, totp_last_step=0)
        RecoveryCode.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        audit_record(actor=by, action="mfa.reset", obj=user)


# Break-the-glass -----------------------------------------------------------------------------


def is_clinician(user) -> bool:
    return any(m.specialty and m.role in (Role.MEMBER, Role.CHAIR) for m in permissions.memberships_of(user).values())


def break_glass_patient(*, user, mrn: str) -> Patient:
    """The patient with exactly this MRN. A number that names no one is refused and recorded: someone looked.

    Kept apart from break_glass_open so that the portal can make the opening happen once per form (its
    one-time token rolls a refused create back, and this audit row must not go with it)."""
    if not is_clinician(user):
        raise PermissionDenied("Only a clinician member of a board may open emergency access.")
    mrn = mrn.strip()
    patient = Patient.objects.filter(mrn=mrn).first()
    if patient is None:
        audit_record(
            actor=user, action="access.break_glass_not_found", object_type="patient", changes={"mrn": mrn[:32]}
        )
        raise ValidationError({"mrn": "No patient has exactly this medical record number."})
    return patient


def break_glass_open(*, user, patient: Patient, reason: str) -> BreakGlassAccess | Patient:
    """Emergency read access to the patient (found by break_glass_patient); the patient itself if already visible."""
    if not is_clinician(user):
        raise PermissionDenied("Only a clinician member of a board may open emergency access.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why, in a sentence: the board's coordinators will read it."})
    if permissions.patients_visible_to(user).filter(pk=patient.pk).exists():
        return patient
    now = timezone.now()
    with transaction.atomic():
        access = BreakGlassAccess.objects.create(
            user=user,
            patient=patient,
            reason=reason,
            granted_at=now,
            expires_at=now + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
        )
        audit_record(
            actor=user,
            action="break_glass.open",
            obj=access,
            patient_id=patient.pk,
            changes={"reason": reason, "expires_at": access.expires_at.isoformat()},
        )
        transaction.on_commit(
            lambda: job_enqueue(
                kind="break_glass.notify", args={"access_id": access.pk}, key=f"break-glass-{access.pk}"
            )
        )
    return access


def break_glass_for_user(*, user, pk) -> BreakGlassAccess:
    """The user's own access (404 for anyone else's); PermissionDenied once it has ended."""
    access = permissions.get_visible(BreakGlassAccess.objects.filter(user=user).select_related("patient"), pk)
    if access.expires_at <= timezone.now():
        raise PermissionDenied(
            f"This emergency access ended at {timezone.localtime(access.expires_at):%H:%M}. "
            "Open a new one, with its reason, if you still need it."
        )
    return access


def reviews_break_glass(user) -> bool:
    return any(m.role == Role.COORDINATOR for m in permissions.memberships_of(user).values())


def break_glass_reviewable_by(user):
    """Accesses the user reviews: auditors see all; a coordinator those to patients with cases on their boards."""
    queryset = BreakGlassAccess.objects.select_related("user", "patient", "reviewed_by")
    if permissions.can_read_audit(user):
        return queryset
    boards = [m.board_id for m in permissions.memberships_of(user).values() if m.role == Role.COORDINATOR]
    return queryset.filter(patient__cases__board_id__in=boards).distinct() if boards else queryset.none()


def break_glass_acknowledge(*, access_pk, by, comment: str) -> BreakGlassAccess:
    with transaction.atomic():
        visible = permissions.get_visible(break_glass_reviewable_by(by), access_pk)
        # Locked apart from the visibility query: PostgreSQL locks no row of a DISTINCT query.
        access = BreakGlassAccess.objects.select_for_update().select_related("patient").get(pk=visible.pk)
        if access.reviewed_at:
            raise ValidationError("This access was already acknowledged.")
        access.reviewed_by, access.reviewed_at, access.review_comment = by, timezone.now(), comment.strip()
        access.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
        audit_record(
            actor=by,
            action="break_glass.acknowledge",
            obj=access,
            patient_id=access.patient_id,
            changes={"comment": comment},
        )
    return access
