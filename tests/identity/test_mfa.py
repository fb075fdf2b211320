"""The second factor: TOTP (RFC 6238) codes computed for real, recovery codes, who must enrol, the
administrator's reset, API tokens only after the code, and lockout after wrong codes."""

import time
from datetime import timedelta

import pyotp
import pytest
import segno
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases import models as m
from cases.identity import services
from cases.identity.session import PENDING_SECRET_SESSION_KEY
from tests import factories as f
from tests.conftest import audit_actions

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _mid_window():
    """A code's 30-second window must not end between computing it and the server checking it."""
    if 30 - time.time() % 30 < 3:
        time.sleep(3.1)


@pytest.fixture
def staff_user(db):
    return f.UserFactory(username="admin-ines", is_staff=True)


def enrolled(user, *, last_step_back: int = 5) -> pyotp.TOTP:
    """An authenticator enrolled some minutes ago: its last accepted code is `last_step_back` windows old."""
    secret = pyotp.random_base32(32)
    totp = pyotp.TOTP(secret)
    m.AccountSecurity.objects.update_or_create(
        user=user,
        defaults={
            "totp_secret": secret,
            "totp_confirmed_at": timezone.now(),
            "totp_last_step": totp.timecode(timezone.now()) - last_step_back,
        },
    )
    return totp


def password_sign_in(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def test_staff_must_enrol_before_anything_else(settings, staff_user):
    settings.MFA_REQUIRED = "staff"
    client = Client()
    response = password_sign_in(client, "admin-ines")
    assert client.get("/cases/")["Location"] == "/account/second-factor/enrol/?next=/cases/"
    assert client.get("/admin/")["Location"].startswith("/account/second-factor/enrol/")
    api = client.get("/api/v1/cases/")
    assert api.status_code == 403 and api.json()["code"] == "mfa_required"
    assert response.status_code == 302


def test_enrolment_with_a_real_code_gives_one_time_recovery_codes(settings, staff_user):
    settings.MFA_REQUIRED = "staff"
    client = Client()
    password_sign_in(client, "admin-ines")
    page = client.get(reverse("mfa-enrol"))
    assert page.status_code == 200
    secret = client.session[PENDING_SECRET_SESSION_KEY]
    assert f"secret={secret}" in page.content.decode()
    # The set-up link as a QR code to scan, drawn as inline SVG: nothing the CSP would block.
    html = page.content.decode()
    svg = html[html.index('<div class="totp-qr">') : html.index("</svg>") + 6]
    uri = pyotp.TOTP(secret).provisioning_uri(name="admin-ines", issuer_name=settings.MFA_ISSUER_NAME)
    assert segno.make(uri, error="m").svg_inline(scale=4, title="QR code of the authenticator set-up link") in svg
    assert "style=" not in svg and "<script" not in svg
    wrong = client.post(reverse("mfa-enrol"), {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert wrong.status_code == 400 and not services.mfa_enrolled(staff_user)
    done = client.post(reverse("mfa-enrol"), {"code": pyotp.TOTP(secret).now()}, follow=True)
    assert done.redirect_chain[-1][0].startswith(reverse("mfa-recovery-codes"))
    codes = [li.split("</li>")[0] for li in done.content.decode().split("<li>")[1:]]
    assert len(codes) == 10 and all(len(code) == 13 for code in codes)
    assert client.get("/cases/").status_code == 200
    assert m.RecoveryCode.objects.filter(user=staff_user).count() == 10
    assert not m.RecoveryCode.objects.filter(digest__in=codes).exists()  # only digests are kept
    assert "mfa.enrolled" in audit_actions() and "auth.mfa_enrol_failed" in audit_actions()
    assert client.get(reverse("mfa-recovery-codes"))["Location"] == reverse("mfa-enrol")  # shown only once


def test_an_enrolled_user_gives_a_code_after_the_password(settings, staff_user):
    totp = enrolled(staff_user)
    client = Client()
    password_sign_in(client, "admin-ines")
    assert client.get("/")["Location"] == "/account/second-factor/?next=/"
    response = client.post(reverse("mfa-verify"), {"code": totp.now(), "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200
    assert "mfa.verified" in audit_actions()


def test_a_code_from_the_previous_window_is_accepted(staff_user):
    totp = enrolled(staff_user)
    previous = totp.at(timezone.now() - timedelta(seconds=30))
    assert services.second_factor_verify(user=staff_user, code=previous) == "totp"


def test_a_code_from_two_windows_ago_is_refused(staff_user):
    totp = enrolled(staff_user)
    with pytest.raises(services.SecondFactorRefused):
        services.second_factor_verify(user=staff_user, code=totp.at(timezone.now() - timedelta(seconds=60)))


def test_a_replayed_code_is_refused(staff_user):
    totp = enrolled(staff_user)
    code = totp.now()
    assert services.second_factor_verify(user=staff_user, code=code) == "totp"
    with pytest.raises(services.SecondFactorRefused):
        services.second_factor_verify(user=staff_user, code=code)
    # Nor is the previous window's code once a later one was used.
    with pytest.raises(services.SecondFactorRefused):
        services.second_factor_verify(user=staff_user, code=totp.at(timezone.now() - timedelta(seconds=30)))
    assert audit_actions()[-2:] == ["auth.mfa_failed", "auth.mfa_failed"]


def test_a_replayed_code_is_refused_in_another_session(staff_user):
    totp = enrolled(staff_user)
    code = totp.now()
    first, second = Client(), Client()
    for client in (first, second):
        password_sign_in(client, "admin-ines")
    assert first.post(reverse("mfa-verify"), {"code": code}).status_code == 302
    refused = second.post(reverse("mfa-verify"), {"code": code})
    assert refused.status_code == 400 and b"already used" in refused.content
    assert second.get("/")["Location"].startswith("/account/second-factor/")


def test_a_recovery_code_works_once(staff_user):
    enrolled(staff_user)
    codes = services._new_recovery_codes(staff_user)
    assert services.second_factor_verify(user=staff_user, code=codes[0].upper()) == "recovery"
    with pytest.raises(services.SecondFactorRefused):
        services.second_factor_verify(user=staff_user, code=codes[0])


def test_wrong_codes_lock_the_account_out_like_wrong_passwords(settings, staff_user):
    settings.AXES_FAILURE_LIMIT = 3
    totp = enrolled(staff_user)
    client = Client()
    password_sign_in(client, "admin-ines")
    bad = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    assert client.post(reverse("mfa-verify"), {"code": bad}).status_code == 400
    assert client.post(reverse("mfa-verify"), {"code": bad}).status_code == 400
    locked = client.post(reverse("mfa-verify"), {"code": bad})
    assert locked.status_code == 429  # django-axes answers a lockout with its page
    assert "_auth_user_id" not in client.session
    assert "auth.locked_out" in audit_actions() and audit_actions().count("auth.mfa_failed") == 3
    # The password no longer opens the account either, until the cool-off ends.
    assert password_sign_in(Client(), "admin-ines").status_code in (403, 429)


def test_re_enrolment_needs_the_second_factor_first_and_replaces_the_key(staff_user):
    totp = enrolled(staff_user)
    client = Client()
    password_sign_in(client, "admin-ines")
    assert client.get(reverse("mfa-enrol"))["Location"] == reverse("mfa-verify")
    client.post(reverse("mfa-verify"), {"code": totp.now()})
    client.get(reverse("mfa-enrol"))
    secret = client.session[PENDING_SECRET_SESSION_KEY]
    assert client.post(reverse("mfa-enrol"), {"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert m.AccountSecurity.objects.get(user=staff_user).totp_secret == secret
    assert "mfa.reenrolled" in audit_actions()


def test_an_administrator_resets_a_second_factor(admin_client, staff_user):
    enrolled(staff_user)
    security = m.AccountSecurity.objects.get(user=staff_user)
    response = admin_client.post(
        "/admin/cases/accountsecurity/",
        {"action": "reset_second_factor", "_selected_action": [security.pk]},
    )
    assert response.status_code == 302
    assert not services.mfa_enrolled(staff_user)
    assert not m.RecoveryCode.objects.filter(user=staff_user).exists()
    assert "mfa.reset" in audit_actions()


def test_a_board_can_require_a_second_factor_of_its_members(board, radiologist):
    client = Client()
    password_sign_in(client, "radiologist")
    assert client.get("/").status_code == 200  # not required: MFA_REQUIRED is "off" in tests, no policy
    m.BoardIdentityPolicy.objects.create(board=board, mfa_required=True)
    client = Client()
    password_sign_in(client, "radiologist")
    assert client.get("/")["Location"].startswith("/account/second-factor/enrol/")


def test_everyone_can_be_required_to_use_a_second_factor(settings, radiologist):
    settings.MFA_REQUIRED = "all"
    client = Client()
    password_sign_in(client, "radiologist")
    assert client.get("/")["Location"].startswith("/account/second-factor/enrol/")


# API tokens ------------------------------------------------------------------------------------


def take_token(**extra):
    return APIClient().post("/api/v1/auth/token/", {"username": "admin-ines", "password": PASSWORD, **extra})


def test_a_token_needs_the_code_when_the_account_has_a_second_factor(staff_user):
    totp = enrolled(staff_user)
    missing = take_token()
    assert missing.status_code == 401 and missing.json()["code"] == "mfa_required"
    code = totp.now()
    assert take_token(otp=code).status_code == 200
    replayed = take_token(otp=code)
    assert replayed.status_code == 401 and "already used" in replayed.json()["detail"]
    assert audit_actions().count("api_token.create") == 1


def test_a_token_is_refused_until_a_required_second_factor_is_set_up(settings, staff_user):
    settings.MFA_REQUIRED = "staff"
    response = take_token()
    assert response.status_code == 401 and response.json()["code"] == "mfa_required"


def test_wrong_codes_at_the_token_endpoint_count_towards_lockout(settings, staff_user):
    settings.AXES_FAILURE_LIMIT = 2
    totp = enrolled(staff_user)
    bad = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    assert take_token(otp=bad).status_code == 401
    assert take_token(otp=bad).json()["code"] == "locked_out"  # the failure that locks says so
    locked = take_token(otp=totp.now())  # even the right code waits
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert "auth.locked_out" in audit_actions()


def test_a_session_from_before_the_rule_is_decided_at_its_next_request(settings, staff_user):
    settings.MFA_REQUIRED = "staff"
    client = Client()
    client.force_login(staff_user)
    session = client.session
    del session["_tb_mfa"]
    session.save()
    assert client.get("/cases/")["Location"].startswith("/account/second-factor/enrol/")


def test_the_menu_offers_only_signing_out_until_the_second_factor(staff_user):
    enrolled(staff_user)
    client = Client()
    password_sign_in(client, "admin-ines")
    page = client.get(reverse("mfa-verify")).content.decode()
    assert "Sign out" in page and 'href="/cases/"' not in page and "Second factor</a>" not in page
