import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from cases import models as m
from cases.auth import LOGIN_AT_SESSION_KEY
from tumorboard import settings as project_settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def login(client, username, password=PASSWORD, addr="10.0.0.5"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=addr)


def test_passwords_are_hashed_with_argon2_and_validated():
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    names = [v["NAME"].rsplit(".", 1)[-1] for v in project_settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]


def test_logins_and_failures_are_audited(coordinator):
    client = Client()
    assert login(client, "coordinator", "wrong").status_code == 400
    assert login(client, "coordinator").status_code == 302
    events = list(m.AuditEvent.objects.order_by("id").values_list("action", "actor_username", "ip_address"))
    assert events == [("auth.login_failed", "", "10.0.0.5"), ("auth.login", "coordinator", "10.0.0.5")]
    assert m.AuditEvent.objects.get(action="auth.login_failed").changes == {"username": "coordinator"}


def test_repeated_failures_lock_out_for_a_cool_off_and_the_lockout_is_audited(coordinator, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "coordinator", "wrong")
    locked = login(client, "coordinator")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert m.AuditEvent.objects.filter(action="auth.locked_out").exists()
    # Another address is not locked out by these failures.
    assert login(Client(), "coordinator", addr="10.0.0.6").status_code == 302
    # Never for good: once the cool-off has passed, the right password works again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert login(client, "coordinator").status_code == 302


def test_login_gives_a_new_session_id(coordinator):
    client = Client()
    client.get("/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    login(client, "coordinator")
    assert client.session.session_key != before


def test_the_session_ends_after_its_absolute_lifetime_however_active(coordinator, settings):
    client = Client()
    login(client, "coordinator")
    assert client.get("/").status_code == 200
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = (
        timezone.now() - timedelta(hours=settings.SESSION_ABSOLUTE_HOURS, seconds=1)
    ).timestamp()
    session.save()
    assert client.get("/").status_code == 302


def test_changing_a_password_or_deactivating_ends_other_sessions(coordinator, chair):
    desk, ward = Client(), Client()
    login(desk, "coordinator")
    login(ward, "chair")
    coordinator.set_password("a-new-long-passphrase")
    coordinator.save()
    assert desk.get("/").status_code == 302
    chair.is_active = False
    chair.save()
    assert ward.get("/").status_code == 302


def test_responses_carry_the_security_headers(coordinator, settings):
    settings.SECURE_HSTS_SECONDS = project_settings.SECURE_HSTS_SECONDS
    client = Client()
    client.force_login(coordinator)
    response = client.get("/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_a_probe_for_another_boards_patient_data_is_audited(outsider):
    client = Client()
    client.force_login(outsider)
    assert client.get("/cases/424242/", REMOTE_ADDR="10.9.9.9").status_code == 404
    event = m.AuditEvent.objects.get(action="access.denied_404")
    assert (event.actor, event.ip_address, event.changes["path"]) == (outsider, "10.9.9.9", "/cases/424242/")


def test_a_404_elsewhere_is_not_an_access_event(outsider):
    client = Client()
    client.force_login(outsider)
    client.get("/no-such-page/")
    assert not m.AuditEvent.objects.filter(action__startswith="access.").exists()


@pytest.mark.parametrize("debug", ["0"])
def test_the_deployment_check_is_clean_with_debug_off(debug):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG=debug, DJANGO_SECRET_KEY="s" * 20 + "-Ab3" + "x9Q" * 12)
    env.update(TUMORBOARD_PORTAL_URL="https://tumorboard.hospital.example")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr and "?:" not in result.stdout + result.stderr


def test_the_deployment_check_asks_for_the_portals_address(settings):
    from cases.checks import portal_url_is_set

    settings.PORTAL_URL = ""
    assert [w.id for w in portal_url_is_set(None)] == ["tumorboard.W001"]
    settings.PORTAL_URL = "tumorboard.hospital.example"
    assert [e.id for e in portal_url_is_set(None)] == ["tumorboard.E004"]
    settings.PORTAL_URL = "https://tumorboard.hospital.example"
    assert portal_url_is_set(None) == []


def test_the_schema_and_the_docs_need_a_signed_in_user(client, api, coordinator):
    for path in ("/api/schema/", "/api/schema/?format=json", "/api/docs/", "/api/docs/?script="):
        assert client.get(path).status_code in (401, 403), path
    signed_in = api(coordinator)
    assert signed_in.get("/api/schema/?format=json").status_code == 200


def test_the_docs_page_runs_under_the_csp_without_inline_script_or_style(api, coordinator):
    import re

    client = api(coordinator)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert "<style" not in html and " style=" not in html
    policy = page["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy
    script = re.findall(r'<script src="([^"]+)"', html)[-1]
    assert script.startswith("/api/docs/?") and "script" in script
    loaded = client.get(script.replace("&amp;", "&"))
    assert loaded.status_code == 200 and "SwaggerUIBundle" in loaded.content.decode()
    assert loaded["Content-Type"].startswith("application/javascript")
