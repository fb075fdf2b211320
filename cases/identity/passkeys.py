"""WebAuthn (security keys, passkeys) as a second factor, with py_webauthn: registration and sign-in
ceremonies. The challenge lives in the session and is used once; each write is audited."""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor

from ..models import RecoveryCode, WebAuthnCredential
from ..services.audit import audit_record
from .services import SecondFactorRefused, _new_recovery_codes

CHALLENGE_SESSION_KEY = "_tb_webauthn_challenge"


def relying_party(request) -> tuple[str, str]:
    """(RP ID, origin): the settings, or this site's host name and origin."""
    origin = settings.WEBAUTHN_ORIGIN or f"{request.scheme}://{request.get_host()}"
    return settings.WEBAUTHN_RP_ID or urlsplit(origin).hostname, origin


def _descriptors(user) -> list[PublicKeyCredentialDescriptor]:
    ids = WebAuthnCredential.objects.filter(user=user).values_list("credential_id", flat=True)
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in ids]


def registration_begin(request) -> str:
    rp_id, _ = relying_party(request)
    user = request.user
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.MFA_ISSUER_NAME,
        user_name=user.get_username(),
        user_id=str(user.pk).encode(),
        user_display_name=user.get_full_name() or user.get_username(),
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(),
    )
    request.session[CHALLENGE_SESSION_KEY] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def _challenge(request) -> bytes:
    challenge = request.session.pop(CHALLENGE_SESSION_KEY, None)
    if not challenge:
        raise SecondFactorRefused("This security-key request has expired or was already used. Try again.")
    return base64url_to_bytes(challenge)


def _credential(raw: str) -> dict:
    try:
        credential = json.loads(raw)
    except ValueError:
        credential = None
    if not isinstance(credential, dict):
        raise SecondFactorRefused("The browser's answer could not be read. Try again.")
    return credential


def registration_finish(request, *, raw: str, name: str) -> list[str]:
    """Keep the new key; the recovery codes when this is the account's first second factor, else []."""
    rp_id, origin = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=_credential(raw), expected_challenge=_challenge(request), expected_rp_id=rp_id,
            expected_origin=origin,
        )  # fmt: skip
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        audit_record(actor=request.user, action="auth.webauthn_register_failed", obj=request.user)
        raise SecondFactorRefused("The security key could not be registered. Try again.") from error
    with transaction.atomic():
        WebAuthnCredential.objects.create(
            user=request.user,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=(name or "Security key")[:100],
        )
        first = not RecoveryCode.objects.filter(user=request.user).exists()
        codes = _new_recovery_codes(request.user) if first else []
        audit_record(actor=request.user, action="mfa.webauthn_registered", obj=request.user, changes={"name": name})
    return codes


def authentication_begin(request, user) -> str:
    rp_id, _ = relying_party(request)
    options = generate_authentication_options(rp_id=rp_id, allow_credentials=_descriptors(user))
    request.session[CHALLENGE_SESSION_KEY] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def authentication_finish(request, user, *, raw: str) -> None:
    rp_id, origin = relying_party(request)
    credential = _credential(raw)
    with transaction.atomic():
        stored = (
            WebAuthnCredential.objects.select_for_update()
            .filter(user=user, credential_id=str(credential.get("id")))
            .first()
        )
        try:
            if stored is None:
                raise ValueError("not one of this account's keys")
            verified = verify_authentication_response(
                credential=credential, expected_challenge=_challenge(request), expected_rp_id=rp_id,
                expected_origin=origin, credential_public_key=bytes(stored.public_key),
                credential_current_sign_count=stored.sign_count,
            )  # fmt: skip
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise SecondFactorRefused("The security key was not accepted. Try again, or use a code.") from error
        stored.sign_count, stored.last_used_at = verified.new_sign_count, timezone.now()
        stored.save(update_fields=["sign_count", "last_used_at"])
        audit_record(actor=user, action="mfa.verified", obj=user, changes={"method": "webauthn", "key": stored.name})
