"""Signing in and out, the password change, the idle timeout, and the login every page needs."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests import factories as f

PORTAL_PAGES = [
    "/",
    "/cases/",
    "/cases/1/",
    "/cases/1/referral/",
    "/cases/1/move/imaging/",
    "/cases/1/imaging/new/",
    "/cases/1/pathology/new/",
    "/cases/1/input/",
    "/cases/1/decision/",
    "/cases/1/surveillance/",
    "/pathology/1/amend/",
    "/decisions/1/correct/",
    "/follow-ups/1/deviate/",
    "/key-images/1/",
    "/patients/new/",
    "/patients/1/",
    "/patients/1/cases/new/",
    "/meetings/",
    "/meetings/new/",
    "/meetings/1/",
    "/meetings/1/run/",
    "/password/",
]


@pytest.mark.parametrize("path", PORTAL_PAGES)
def test_every_page_but_login_sends_an_anonymous_visitor_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_the_login_page_is_open_and_labels_its_fields(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html


def test_a_member_signs_in_and_lands_on_the_dashboard(client, coordinator):
    response = client.post(
        reverse("login"), {"username": "coordinator", "password": "correct-horse-battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert b"My boards" in response.content


def test_a_wrong_password_is_refused_with_a_message(client, coordinator):
    response = client.post(reverse("login"), {"username": "coordinator", "password": "nope"})
    assert response.status_code == 400
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_session(signed_in, coordinator):
    client = signed_in(coordinator)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_member_changes_their_password(signed_in, coordinator):
    client = signed_in(coordinator)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a much longer passphrase 42",
            "new_password2": "a much longer passphrase 42",
        },
    )
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.check_password("a much longer passphrase 42")


def test_a_refused_password_change_keeps_the_old_password(signed_in, coordinator):
    client = signed_in(coordinator)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 400
    assert b"Your old password was entered incorrectly" in response.content
    coordinator.refresh_from_db()
    assert coordinator.check_password("correct-horse-battery")


def test_the_idle_timeout_defaults_to_thirty_minutes_and_slides_with_each_request():
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_the_idle_timeout_is_read_from_the_environment():
    env = {**os.environ, "TUMORBOARD_SESSION_IDLE_MINUTES": "7", "DJANGO_SECRET_KEY": "x"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "tumorboard.settings"},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert out.stdout.strip() == "420"


def test_each_request_pushes_the_session_expiry_forward(signed_in, coordinator):
    client = signed_in(coordinator)
    key = client.session.session_key
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get(reverse("dashboard")).status_code == 200
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > timezone.now() + timedelta(minutes=29)


def test_a_session_idle_past_the_timeout_must_sign_in_again(signed_in, coordinator):
    client = signed_in(coordinator)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_of_no_board_sees_an_empty_dashboard_and_a_hint(signed_in, db):
    client = signed_in(f.UserFactory(username="newcomer"))
    response = client.get(reverse("dashboard"))
    assert b"You are not a member of any board yet" in response.content
