"""Single sign-on against a real OpenID provider (panva/oidc-provider) started on loopback: the
authorization code flow with PKCE, state and nonce, account links, and every refusal, each audited."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from cases import models as m
from cases.identity import oidc
from tests import factories as f
from tests.conftest import audit_actions
from tests.identity.oidc_provider import callback_path, sign_in


def refused(response, code: str, status: int = 403) -> None:
    assert response.status_code == status, response.content[:500]
    assert f'<span class="mono">{code}</span>' in response.content.decode()
    event = m.AuditEvent.objects.filter(action="auth.sso_refused").latest("id")
    assert event.changes["reason"] == code


def test_the_authorization_request_carries_pkce_state_and_nonce(client, sso):
    location = client.get("/login/sso/")["Location"]
    query = parse_qs(urlparse(location).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 43
    pending = client.session[oidc.PENDING_SESSION_KEY][query["state"][0]]
    assert pending["nonce"] == query["nonce"][0] and len(pending["verifier"]) >= 43


def test_a_linked_account_signs_in_through_the_provider(client, sso, linked):
    user = linked("lind", "hosp-0001")
    callback = sign_in(client, sso, "hosp-0001", next_url="/cases/")
    response = client.get(callback_path(callback))
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/").status_code == 200
    actions = audit_actions()
    assert actions[-3:] == ["auth.sso_login", "auth.login", "dashboard.view"], actions[-4:]
    assert m.IdentityLink.objects.get(user=user).last_login_at is not None


def test_an_unknown_user_is_refused_and_no_account_is_made(client, sso, User):
    before = User.objects.count()
    response = client.get(callback_path(sign_in(client, sso, "hosp-0002")))
    refused(response, "unknown_user")
    assert b"not linked to a Tumor Board account" in response.content
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == before


def test_just_in_time_accounts_are_made_only_when_the_setting_allows(client, sso, settings, User):
    settings.OIDC_CREATE_USERS = True
    response = client.get(callback_path(sign_in(client, sso, "hosp-0002")))
    assert response.status_code == 302
    user = User.objects.get(username="dr.okafor")
    assert user.email == "okafor@hospital.invalid" and not user.has_usable_password()
    assert m.IdentityLink.objects.filter(user=user, subject="hosp-0002").exists()
    assert "auth.sso_user_created" in audit_actions()


def test_a_disabled_account_is_refused(client, sso, linked):
    linked("former", "hosp-0003", is_active=False)
    refused(client.get(callback_path(sign_in(client, sso, "hosp-0003"))), "account_disabled")
    assert "_auth_user_id" not in client.session


def test_an_id_token_for_another_application_is_refused(client, sso, linked):
    linked("vale", "hosp-0004")
    response = client.get(callback_path(sign_in(client, sso, "hosp-0004")))
    refused(response, "wrong_audience")
    assert b"issued for another application" in response.content
    assert "_auth_user_id" not in client.session


def test_a_tampered_id_token_is_refused(client, sso, linked):
    linked("quill", "hosp-0005")
    linked("someone", "someone-else")  # the subject the tampered token claims
    refused(client.get(callback_path(sign_in(client, sso, "hosp-0005"))), "id_token_invalid")
    assert "_auth_user_id" not in client.session


def test_an_expired_id_token_is_refused(client, sso, linked):
    linked("stale", "hosp-0006")
    refused(client.get(callback_path(sign_in(client, sso, "hosp-0006"))), "id_token_expired")


@pytest.mark.parametrize(
    ("subject", "code", "says"),
    [
        ("hosp-0008", "wrong_issuer", "another issuer"),
        ("hosp-0009", "nonce_mismatch", "does not belong to the one this browser started"),
        ("hosp-0010", "id_token_invalid", "dated in the future"),
        ("hosp-0011", "id_token_invalid", "signature does not match"),  # alg "none": no signature at all
        ("hosp-0012", "id_token_invalid", "signature does not match"),  # HS256 with the client secret
    ],
)
def test_a_token_signed_by_the_provider_but_wrong_or_forged_without_its_key_is_refused(
    client, sso, linked, subject, code, says
):
    linked(f"user-{subject}", subject)
    response = client.get(callback_path(sign_in(client, sso, subject)))
    refused(response, code)
    assert says in response.content.decode() and "_auth_user_id" not in client.session


def test_the_providers_own_refusal_is_shown_and_audited(client, sso, linked):
    linked("lind", "hosp-0001")
    location = client.get("/login/sso/")["Location"]
    state = parse_qs(urlparse(location).query)["state"][0]
    response = client.get("/login/sso/callback/", {"state": state, "error": "access_denied",
                                                   "error_description": "The user cancelled."})  # fmt: skip
    refused(response, "provider_error")
    assert "The user cancelled." in response.content.decode() and "_auth_user_id" not in client.session


def test_a_provider_that_does_not_answer_is_refused_plainly(client, db, settings):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID, settings.OIDC_TIMEOUT = f"http://127.0.0.1:{port}", "tumorboard", 2
    response = client.get("/login/sso/")
    refused(response, "provider_unreachable")
    assert "did not answer" in response.content.decode()


def test_a_replayed_state_is_refused(client, sso, linked):
    linked("lind", "hosp-0001")
    callback = callback_path(sign_in(client, sso, "hosp-0001"))
    assert client.get(callback).status_code == 302
    client.logout()
    refused(client.get(callback), "state_unknown", status=400)
    assert "_auth_user_id" not in client.session


def test_a_callback_from_another_browser_is_refused(client, sso, linked):
    from django.test import Client

    linked("lind", "hosp-0001")
    callback = callback_path(sign_in(client, sso, "hosp-0001"))
    refused(Client().get(callback), "state_unknown", status=400)


def test_an_expired_state_is_refused(client, sso, linked, settings):
    linked("lind", "hosp-0001")
    callback = callback_path(sign_in(client, sso, "hosp-0001"))
    session = client.session
    pending = session[oidc.PENDING_SESSION_KEY]
    for started in pending.values():
        started["at"] -= settings.OIDC_STATE_MAX_AGE + 1
    session[oidc.PENDING_SESSION_KEY] = pending
    session.save()
    refused(client.get(callback), "state_expired", status=400)
    assert "_auth_user_id" not in client.session


def test_a_callback_without_the_code_is_refused_by_the_provider(client, sso, linked):
    linked("lind", "hosp-0001")
    callback = sign_in(client, sso, "hosp-0001")
    forged = re.sub(r"code=[^&]+", "code=forged", callback)
    refused(client.get(callback_path(forged)), "code_refused")


def test_the_groups_claim_sets_and_removes_board_memberships(client, sso, linked, settings, board):
    settings.OIDC_GROUP_BOARDS = "tb-sarcoma-rad=Sarcoma board:member:radiology"
    user = linked("lind", "hosp-0001")
    other = f.BoardFactory(name="Breast board")
    f.MembershipFactory(user=user, board=other, role="coordinator")  # not governed by the rules: kept
    client.get(callback_path(sign_in(client, sso, "hosp-0001")))
    membership = m.BoardMembership.objects.get(user=user, board=board)
    assert (membership.role, membership.specialty) == ("member", "radiology")
    assert "membership.set" in audit_actions()
    settings.OIDC_GROUP_BOARDS = "tb-sarcoma-chairs=Sarcoma board:chair:radiology"
    client.logout()
    client.get(callback_path(sign_in(client, sso, "hosp-0001")))
    assert not m.BoardMembership.objects.filter(user=user, board=board).exists()
    assert m.BoardMembership.objects.filter(user=user, board=other).exists()


def test_signing_out_ends_the_provider_session_too(client, sso, linked):
    linked("lind", "hosp-0001")
    client.get(callback_path(sign_in(client, sso, "hosp-0001")))
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    end = urlparse(response["Location"])
    assert f"{end.scheme}://{end.netloc}" == sso.issuer and end.path == "/session/end"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "_auth_user_id" not in client.session
    signed_out = [e.action for e in m.AuditEvent.objects.order_by("sequence") if e.action.endswith("logout")]
    assert signed_out == ["auth.logout", "sso.logout"]  # the session here, then the provider's: each once
    assert sso.follow(response["Location"], stop_at="http://testserver/") == "http://testserver/login/"
    # The provider forgot the sign-in: starting again asks for the hospital account once more.
    start = client.get("/login/sso/")["Location"]
    page = sso.session.get(start, timeout=10)
    assert "Hospital sign-in" in page.text


def test_local_passwords_can_be_turned_off_for_one_account(client, db, coordinator):
    m.AccountSecurity.objects.create(user=coordinator, password_login_disabled=True)
    response = client.post(reverse("login"), {"username": "coordinator", "password": "correct-horse-battery"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    token = client.post("/api/v1/auth/token/", {"username": "coordinator", "password": "correct-horse-battery"})
    assert token.status_code == 401
    assert "auth.login_failed" in audit_actions()


def test_local_passwords_can_be_turned_off_for_everyone(client, sso, settings, coordinator):
    settings.PASSWORD_LOGIN_ENABLED = False
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with your hospital account" in page and 'name="password"' not in page
    response = client.post(reverse("login"), {"username": "coordinator", "password": "correct-horse-battery"})
    assert response.status_code == 400 and "_auth_user_id" not in client.session


def test_with_local_passwords_off_for_everyone_the_token_endpoint_refuses_a_password(client, settings, coordinator):
    from knox.models import AuthToken

    credentials = {"username": "coordinator", "password": "correct-horse-battery"}
    settings.PASSWORD_LOGIN_ENABLED = False
    token = client.post("/api/v1/auth/token/", credentials)
    assert token.status_code == 401 and "token" not in token.json()
    assert not AuthToken.objects.filter(user=coordinator).exists()
    assert "auth.login_failed" in audit_actions() and "api_token.create" not in audit_actions()
    settings.PASSWORD_LOGIN_ENABLED = True  # the same password, with passwords on: a token
    assert client.post("/api/v1/auth/token/", credentials).status_code == 200


def test_single_sign_on_is_absent_until_configured(client, db):
    assert client.get("/login/sso/").status_code == 404
    assert b"hospital account" not in client.get(reverse("login")).content


@pytest.mark.parametrize("next_url", ["https://evil.invalid/", "//evil.invalid/x"])
def test_the_return_address_stays_on_this_site(client, sso, linked, next_url):
    linked("lind", "hosp-0001")
    response = client.get(callback_path(sign_in(client, sso, "hosp-0001", next_url=next_url)))
    assert response["Location"] == "/"


def test_a_staff_member_signing_in_through_the_provider_still_gives_the_second_factor(client, sso, linked, settings):
    settings.MFA_REQUIRED = "staff"
    linked("lind", "hosp-0001", is_staff=True)
    client.get(callback_path(sign_in(client, sso, "hosp-0001")))
    assert client.get("/")["Location"].startswith("/account/second-factor/enrol/")


def test_the_providers_second_factor_counts_only_when_trusted(client, sso, linked, settings):
    settings.MFA_REQUIRED = "staff"
    linked("amr", "hosp-0007", is_staff=True)
    client.get(callback_path(sign_in(client, sso, "hosp-0007")))
    assert client.get("/").status_code == 302
    settings.OIDC_TRUST_PROVIDER_MFA = True
    client.logout()
    client.get(callback_path(sign_in(client, sso, "hosp-0007")))
    assert client.get("/").status_code == 200
    event = m.AuditEvent.objects.filter(action="mfa.verified").latest("id")
    assert event.changes["method"] == "provider" and "mfa" in event.changes["amr"]
