"""A small OpenID Connect relying party: authorization code flow with PKCE, `state` and `nonce`.

Discovery and keys come from the issuer's /.well-known/openid-configuration (cached for an hour).
Every check that fails raises `SsoRefused` with a code for the audit trail and a sentence for the person.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
PENDING_SESSION_KEY = "_tb_oidc_pending"
MAX_PENDING = 5  # sign-ins started in several tabs; older ones are dropped
CACHE_SECONDS = 3600


class SsoRefused(Exception):
    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def is_configured() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def _get_json(url: str) -> dict:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as error:
        raise SsoRefused(
            "provider_unreachable", "The hospital's sign-in service did not answer. Try again in a minute."
        ) from error


def discovery() -> dict:
    key = f"tb-oidc-discovery:{settings.OIDC_ISSUER}"
    document = cache.get(key)
    if document is None:
        document = _get_json(settings.OIDC_ISSUER + "/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != settings.OIDC_ISSUER:
            raise SsoRefused("wrong_issuer", "The sign-in service describes itself as another issuer.")
        cache.set(key, document, CACHE_SECONDS)
    return document


def key_set(*, refresh: bool = False) -> KeySet:
    key = f"tb-oidc-jwks:{settings.OIDC_ISSUER}"
    keys = None if refresh else cache.get(key)
    if keys is None:
        keys = _get_json(discovery()["jwks_uri"])
        cache.set(key, keys, CACHE_SECONDS)
    return KeySet.import_key_set(keys)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def begin(session, *, redirect_uri: str, next_url: str) -> str:
    """Remember a fresh state, nonce and PKCE verifier in the session; the provider's authorization URL."""
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    pending = dict(session.get(PENDING_SESSION_KEY, {}))
    pending[state] = {"nonce": nonce, "verifier": verifier, "next": next_url, "at": time.time(), "uri": redirect_uri}
    session[PENDING_SESSION_KEY] = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-MAX_PENDING:])
    params = {
        "response_type": "code",
        "client_id": settings.OIDC_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": settings.OIDC_SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return discovery()["authorization_endpoint"] + "?" + urlencode(params)


def take_pending(session, state: str) -> dict:
    """The sign-in this `state` started, removed so that it can be used only once."""
    pending = dict(session.get(PENDING_SESSION_KEY, {}))
    started = pending.pop(state, None) if state else None
    session[PENDING_SESSION_KEY] = pending
    if started is None:
        raise SsoRefused(
            "state_unknown",
            "This sign-in link was already used or was not started in this browser. Sign in again.",
        )
    if time.time() - started["at"] > settings.OIDC_STATE_MAX_AGE:
        raise SsoRefused("state_expired", "The sign-in took too long and has expired. Sign in again.")
    return started


@dataclass(frozen=True)
class SignInResult:
    claims: dict
    id_token: str


def exchange(*, code: str, started: dict) -> SignInResult:
    """Trade the code for tokens (with the PKCE verifier) and return the checked ID token's claims."""
    try:
        response = requests.post(
            discovery()["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": started["uri"],
                "code_verifier": started["verifier"],
            },
            auth=(settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET),
            timeout=settings.OIDC_TIMEOUT,
        )
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SsoRefused("provider_unreachable", "The hospital's sign-in service did not answer.") from error
    if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
        raise SsoRefused(
            "code_refused",
            "The hospital's sign-in service refused to complete this sign-in. Sign in again.",
            provider_error=str(body.get("error", ""))[:100] if isinstance(body, dict) else "",
        )
    id_token = str(body["id_token"])
    return SignInResult(claims=check_id_token(id_token, nonce=started["nonce"]), id_token=id_token)


def _decode(id_token: str):
    """Verify the signature; a key id not seen yet may mean the provider rotated its keys: fetch them once more."""
    for refresh in (False, True):
        try:
            return jwt.decode(id_token, key_set(refresh=refresh), algorithms=ALGORITHMS)
        except (JoseError, ValueError, TypeError) as error:
            failure = error
    raise SsoRefused("id_token_invalid", TAMPERED) from failure


TAMPERED = "The sign-in could not be verified: its signature does not match the hospital's keys."


def check_id_token(id_token: str, *, nonce: str) -> dict:
    """OpenID Connect Core 3.1.3.7: signature, issuer, audience, authorized party, expiry, nonce."""
    claims = dict(_decode(id_token).claims)
    now, leeway = time.time(), settings.OIDC_LEEWAY
    if str(claims.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
        raise SsoRefused("wrong_issuer", "The sign-in came from another issuer than the hospital's.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.OIDC_CLIENT_ID not in audiences or (
        len(audiences) > 1 and claims.get("azp") != settings.OIDC_CLIENT_ID
    ):
        raise SsoRefused(
            "wrong_audience", "The sign-in was issued for another application, not Tumor Board.", audience=audiences
        )
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - leeway:
        raise SsoRefused("id_token_expired", "The sign-in has expired. Sign in again.")
    if isinstance(claims.get("iat"), int | float) and claims["iat"] > now + leeway:
        raise SsoRefused("id_token_invalid", "The sign-in is dated in the future. Check the server's clock.")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SsoRefused("nonce_mismatch", "The sign-in does not belong to the one this browser started.")
    if not claims.get("sub"):
        raise SsoRefused("id_token_invalid", "The sign-in names no subject.")
    return claims


def logout_url(*, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where to end the provider's session too, when it supports RP-initiated logout."""
    if not (settings.OIDC_PROVIDER_LOGOUT and is_configured() and id_token):
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except SsoRefused:
        return None
    if not endpoint:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "client_id": settings.OIDC_CLIENT_ID,
    }
    return endpoint + "?" + urlencode(params)
