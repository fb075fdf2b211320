"""The identity tests' provider (one per session, on loopback) and its accounts."""

import pytest
from django.contrib.auth import get_user_model

from cases import models as m
from tests import factories as f
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET, ProviderBrowser, running_provider

# The provider's accounts (sub -> claims); `mischief` makes its token endpoint misbehave (provider.js).
ACCOUNTS = {
    "hosp-0001": {"preferred_username": "dr.lind", "email": "lind@hospital.invalid", "groups": ["tb-sarcoma-rad"]},
    "hosp-0002": {"preferred_username": "dr.okafor", "email": "okafor@hospital.invalid", "groups": []},
    "hosp-0003": {"preferred_username": "dr.former", "email": "former@hospital.invalid"},
    "hosp-0004": {"preferred_username": "dr.vale", "mischief": "wrong-audience"},
    "hosp-0005": {"preferred_username": "dr.quill", "mischief": "tampered"},
    "hosp-0006": {"preferred_username": "dr.stale", "mischief": "expired"},
    "hosp-0007": {"preferred_username": "dr.amr", "amr": ["pwd", "mfa"]},
    "hosp-0008": {"preferred_username": "dr.iss", "mischief": "wrong-issuer"},
    "hosp-0009": {"preferred_username": "dr.nonce", "mischief": "wrong-nonce"},
    "hosp-0010": {"preferred_username": "dr.future", "mischief": "future"},
    "hosp-0011": {"preferred_username": "dr.none", "mischief": "alg-none"},
    "hosp-0012": {"preferred_username": "dr.hmac", "mischief": "hs256"},
}


@pytest.fixture(scope="session")
def oidc_issuer(live_server):
    callbacks = ["http://testserver/login/sso/callback/", f"{live_server.url}/login/sso/callback/"]
    logouts = ["http://testserver/login/", f"{live_server.url}/login/"]
    with running_provider(redirect_uris=callbacks, logout_uris=logouts, accounts=ACCOUNTS) as issuer:
        yield issuer


@pytest.fixture
def sso(settings, oidc_issuer):
    """Single sign-on set up as docs/identity.md says, against the test provider."""
    settings.OIDC_ISSUER = oidc_issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_SCOPES = "openid email profile groups"
    return ProviderBrowser(oidc_issuer)


@pytest.fixture
def linked(db, oidc_issuer):
    """link(username, sub, **user fields) -> a local account linked to the provider's subject."""

    def link(username: str, sub: str, **fields):
        user = f.UserFactory(username=username, **fields)
        m.IdentityLink.objects.create(user=user, issuer=oidc_issuer, subject=sub)
        return user

    return link


@pytest.fixture
def User():
    return get_user_model()
