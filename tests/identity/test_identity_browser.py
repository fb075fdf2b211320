"""The identity flows in a real Chromium (Debian's) through Playwright, against a live server and the
test OpenID provider: the full redirect flow of single sign-on and the provider's sign-out.
Screenshots go to test-artifacts/. Skips locally without Chromium or Node.js; fails under CI=true."""

import re

import pyotp
import pytest
from django.test import override_settings

from cases import models as m
from tests import factories as f
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET
from tests.test_web_browser import browser, shoot  # noqa: F401 - the module's Chromium fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser, live_server):  # noqa: F811
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def sso_live(oidc_issuer):
    with override_settings(OIDC_ISSUER=oidc_issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET):
        yield oidc_issuer


def test_a_clinician_signs_in_through_the_provider_and_out_of_both(page, sso_live, board):
    user = f.UserFactory(username="lind", first_name="Ada", last_name="Lind")
    f.MembershipFactory(user=user, board=board, role="member", specialty="radiology")
    m.IdentityLink.objects.create(user=user, issuer=sso_live, subject="hosp-0001")

    page.goto("/cases/")
    page.get_by_role("link", name="Sign in with your hospital account").click()
    page.wait_for_url(re.compile(re.escape(sso_live) + "/interaction/"))
    shoot(page, "identity-provider-sign-in")
    page.get_by_label("Hospital account").fill("hosp-0001")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/cases/$"))
    assert page.get_by_text("Ada Lind").first.is_visible()
    shoot(page, "identity-signed-in-through-sso")
    assert "auth.sso_login" in m.AuditEvent.objects.values_list("action", flat=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(sso_live) + "/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider asks to confirm
    page.wait_for_url(re.compile(r"/login/$"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login/\?next=/$"))
    # The provider's session ended too: signing in again asks for the hospital account.
    page.get_by_role("link", name="Sign in with your hospital account").click()
    page.wait_for_url(re.compile(re.escape(sso_live) + "/interaction/"))
    assert page.get_by_label("Hospital account").is_visible()


def test_a_clinician_breaks_the_glass_and_sees_the_banner(page, outsider, case):
    page.goto("/login/")
    page.get_by_label("Username").fill("outsider")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Emergency access").click()
    page.get_by_label("Medical record number").fill(case.patient.mrn)
    page.get_by_label("Reason").fill("Seen in the emergency department tonight with a fracture of the treated femur.")
    page.get_by_role("button", name="Open read-only access").click()
    page.get_by_role("link", name=f"Case {case.pk}").click()
    page.get_by_text("Read-only emergency access").wait_for()
    assert page.get_by_role("alert").filter(has_text="Emergency access is open").is_visible()
    shoot(page, "identity-break-glass-case")
    page.get_by_role("link", name="Dashboard").click()
    assert page.get_by_role("alert").filter(has_text="Emergency access is open").is_visible()


def test_a_staff_member_enrols_a_real_authenticator_in_the_browser(page, settings, db):
    settings.MFA_REQUIRED = "staff"
    f.UserFactory(username="admin-ines", is_staff=True)
    page.goto("/login/")
    page.get_by_label("Username").fill("admin-ines")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/second-factor/enrol/"))
    secret = page.locator("#totp-secret").inner_text().strip()
    shoot(page, "identity-mfa-enrol")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Your second factor is set up").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r"/$"))


def virtual_authenticator(page) -> tuple:
    """Chromium's virtual authenticator (DevTools WebAuthn domain): a platform passkey that always consents."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    return cdp, cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]


def test_a_security_key_is_registered_and_then_signs_in(page, settings, db):
    settings.MFA_REQUIRED = "staff"
    user = f.UserFactory(username="admin-ines", is_staff=True)
    cdp, authenticator = virtual_authenticator(page)

    def sign_in_with_password():
        if "/login/" not in page.url:
            page.goto("/login/")
        page.get_by_label("Username").fill("admin-ines")
        page.get_by_label("Password").fill("correct-horse-battery")
        page.get_by_role("button", name="Sign in").click()

    sign_in_with_password()
    page.wait_for_url(re.compile(r"/account/second-factor/enrol/"))
    page.get_by_label("Name of the key").fill("Ward laptop passkey")
    page.get_by_role("button", name="Register a security key").click()
    page.get_by_text("Your second factor is set up").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    key = m.WebAuthnCredential.objects.get(user=user)
    assert key.name == "Ward laptop passkey"
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r"/$"))

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/$"))
    sign_in_with_password()
    page.wait_for_url(re.compile(r"/account/second-factor/"))
    shoot(page, "identity-mfa-verify-with-key")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(re.compile(r":\d+/$"))
    assert page.get_by_text("My boards").first.is_visible()
    key.refresh_from_db()
    assert key.last_used_at is not None
    events = list(m.AuditEvent.objects.filter(action="mfa.verified").values_list("changes", flat=True))
    assert events[-1]["method"] == "webauthn"


def test_a_cloned_key_is_refused(page, settings, db):
    """The server saw a higher signature counter than the key now sends (a sign of a cloned key): refused, audited."""
    settings.MFA_REQUIRED = "staff"
    user = f.UserFactory(username="admin-ines", is_staff=True)
    virtual_authenticator(page)
    page.goto("/login/")
    page.get_by_label("Username").fill("admin-ines")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Register a security key").click()
    page.get_by_text("Your second factor is set up").wait_for()
    key = m.WebAuthnCredential.objects.get(user=user)
    m.WebAuthnCredential.objects.filter(pk=key.pk).update(sign_count=10**9)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/$"))
    page.get_by_label("Username").fill("admin-ines")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/second-factor/"))
    page.get_by_role("button", name="Use a security key").click()
    page.get_by_role("status").filter(has_text="not accepted").wait_for()
    assert "/account/second-factor/" in page.url
    assert m.AuditEvent.objects.filter(action="auth.mfa_failed").exists()
