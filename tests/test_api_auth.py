"""Tokens (expiring, hashed, revocable), session authentication with CSRF, and throttles."""

from datetime import timedelta

from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from tests.conftest import audit_actions


def take_token(client, username="coordinator", password="correct-horse-battery"):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password})


def test_a_token_is_issued_for_a_username_and_password_and_expires(coordinator):
    response = take_token(APIClient())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    expiry = timezone.datetime.fromisoformat(body["expiry"])
    assert timezone.now() + timedelta(hours=9) < expiry < timezone.now() + timedelta(hours=11)
    assert "api_token.create" in audit_actions()


def test_the_token_is_stored_only_as_a_digest(coordinator):
    token = take_token(APIClient()).json()["token"]
    stored = AuthToken.objects.get(user=coordinator)
    assert token not in stored.digest and stored.digest != token
    assert len(stored.digest) == 128


def test_a_token_authenticates_requests(coordinator, case):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + take_token(client).json()["token"])
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 200


def test_an_expired_token_is_refused(coordinator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + take_token(client).json()["token"])
    AuthToken.objects.filter(user=coordinator).update(expiry=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_logout_revokes_the_token(coordinator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + take_token(client).json()["token"])
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert not AuthToken.objects.filter(user=coordinator).exists()
    assert client.get("/api/v1/cases/").status_code == 401
    assert "api_token.revoke" in audit_actions()


def test_a_wrong_password_gets_no_token(coordinator):
    response = take_token(APIClient(), password="wrong")
    assert response.status_code == 401
    assert response.json() == {"detail": "The username or password is not correct.", "code": "authentication_failed"}
    assert not AuthToken.objects.exists()


def test_a_locked_out_sign_in_is_told_so_even_with_the_right_password(coordinator, settings):
    client = APIClient()
    limit = settings.AXES_FAILURE_LIMIT
    answers = [take_token(client, password="wrong") for _ in range(limit)]
    assert [answer.status_code for answer in answers] == [401] * (limit - 1) + [429]  # the last one locks
    locked = take_token(client)
    assert locked.status_code == 429
    assert locked.json() == {
        "detail": "Too many failed sign-ins: signing in as this user from this address is paused for 15 minutes. "
        "Wait, then try again; if you have forgotten your password, ask an administrator to reset it.",
        "code": "locked_out",
    }
    assert int(locked["Retry-After"]) == 15 * 60
    assert not AuthToken.objects.exists()
    assert take_token(APIClient(REMOTE_ADDR="10.0.0.6")).status_code == 200  # another address is not locked out


def test_login_attempts_are_rate_limited_per_client(coordinator):
    client = APIClient()
    # Each guess names another user, so that no lockout (per user and address) answers before the throttle.
    statuses = [take_token(client, username=f"guess-{n}", password="guess").status_code for n in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    refused = take_token(client)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_an_anonymous_request_is_told_to_authenticate(db):
    response = APIClient().get("/api/v1/cases/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_a_garbled_token_is_refused_not_crashed(db):
    client = APIClient()
    for header in ["Token", "Token a b", "Token \xff\xfe", "Token " + "x" * 500]:
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/cases/").status_code == 401


def test_session_requests_must_carry_the_csrf_token(coordinator, case):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(coordinator)
    refused = client.post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/api/v1/cases/")  # any GET; the token comes from the cookie the portal sets
    from django.middleware.csrf import _get_new_csrf_string

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    accepted = client.post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging"}, HTTP_X_CSRFTOKEN=secret)
    assert accepted.status_code == 200


def test_requests_are_throttled_per_user(coordinator, api, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "3/min", raising=False)
    client = api(coordinator)
    assert [client.get("/api/v1/boards/").status_code for _ in range(4)] == [200, 200, 200, 429]
