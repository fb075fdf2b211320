"""Credentials end when they should (issue 11): tokens and sessions die with a password change, however it
is made, and with deactivation, and stay dead after reactivation; "sign out everywhere"; a session's
absolute lifetime starts only when its own user signs in; the token endpoint never touches a session."""

from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from cases import models as m
from cases.auth import LOGIN_AT_SESSION_KEY
from tests.conftest import audit_actions

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-brand-new-long-passphrase"


def token_client(username="coordinator", password=PASSWORD):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION="Token " + response.json()["token"])
    return client


def portal_client(username="coordinator", password=PASSWORD):
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content
    return client


def signed_in(client):
    return client.get("/").status_code == 200


def api_ok(client, case):
    return client.get(f"/api/v1/cases/{case.pk}/").status_code == 200


def test_a_password_changed_in_the_portal_ends_other_sessions_and_every_token(coordinator, case):
    token, other_session, changer = token_client(), portal_client(), portal_client()
    assert api_ok(token, case) and signed_in(other_session)
    response = changer.post(
        "/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not api_ok(token, case)
    assert not signed_in(other_session)
    assert signed_in(changer)  # the session that changed it carries on
    assert AuthToken.objects.filter(user=coordinator).count() == 0
    assert "auth.credentials_revoked" in audit_actions()
    event = m.AuditEvent.objects.get(action="user.update")
    assert event.changes == {"password": "changed"} and event.actor == coordinator


def test_a_password_set_in_a_shell_or_command_ends_sessions_and_tokens(coordinator, case):
    token, session = token_client(), portal_client()
    coordinator.set_password(NEW_PASSWORD)
    coordinator.save()
    assert not api_ok(token, case) and not signed_in(session)
    revoked = m.AuditEvent.objects.get(action="auth.credentials_revoked")
    assert revoked.changes["reason"] == "password_changed" and revoked.changes["tokens_deleted"] == 1
    assert revoked.actor is None  # no request: the system


def test_a_password_changed_in_the_admin_ends_sessions_and_tokens(coordinator, case, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD + "-root")
    token, session = token_client(), portal_client()
    staff = Client()
    staff.force_login(admin)
    response = staff.post(
        f"/admin/auth/user/{coordinator.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content
    assert not api_ok(token, case) and not signed_in(session)
    assert m.AuditEvent.objects.filter(action="user.update", actor=admin, object_id=str(coordinator.pk)).exists()


def test_deactivation_ends_sessions_and_tokens_and_reactivation_does_not_revive_them(coordinator, case):
    token, session = token_client(), portal_client()
    coordinator.is_active = False
    coordinator.save()
    assert not api_ok(token, case) and not signed_in(session)
    coordinator.is_active = True
    coordinator.save()
    assert not api_ok(token, case) and not signed_in(session)
    changes = [e.changes for e in m.AuditEvent.objects.filter(action="user.update").order_by("id")]
    assert changes == [{"is_active": [True, False]}, {"is_active": [False, True]}]
    # A fresh sign-in works again.
    assert signed_in(portal_client())


def test_sign_out_everywhere_in_the_portal(coordinator, case):
    token, elsewhere, here = token_client(), portal_client(), portal_client()
    response = here.post("/sign-out-everywhere/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not signed_in(here) and not signed_in(elsewhere) and not api_ok(token, case)
    assert m.AuditEvent.objects.get(action="auth.credentials_revoked").changes["reason"] == "signed_out_everywhere"
    assert "auth.logout" in audit_actions()


def test_sign_out_everywhere_is_a_post(coordinator):
    client = portal_client()
    assert client.get("/sign-out-everywhere/").status_code == 405
    assert signed_in(client)


def test_sign_out_everywhere_through_the_api(coordinator, case):
    token, other_token, session = token_client(), token_client(), portal_client()
    assert token.post("/api/v1/auth/sign-out-everywhere/").status_code == 204
    assert not api_ok(token, case) and not api_ok(other_token, case) and not signed_in(session)


def test_the_token_endpoint_neither_renews_nor_restarts_another_users_session(coordinator, chair):
    victim = portal_client("chair")
    session_key = victim.cookies["sessionid"].value
    before = Session.objects.get(session_key=session_key)
    started = before.get_decoded()[LOGIN_AT_SESSION_KEY]
    attacker = APIClient()
    attacker.cookies["sessionid"] = session_key
    response = attacker.post("/api/v1/auth/token/", {"username": "coordinator", "password": PASSWORD})
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    after = Session.objects.get(session_key=session_key)
    assert after.get_decoded()[LOGIN_AT_SESSION_KEY] == started
    assert after.expire_date == before.expire_date and after.session_data == before.session_data


def test_the_token_endpoint_does_not_restart_the_users_own_session(coordinator):
    client = portal_client()
    session_key = client.cookies["sessionid"].value
    before = Session.objects.get(session_key=session_key)
    response = client.post(
        "/api/v1/auth/token/", {"username": "coordinator", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    after = Session.objects.get(session_key=session_key)
    assert (after.session_data, after.expire_date) == (before.session_data, before.expire_date)


def test_the_token_endpoint_creates_no_session(coordinator):
    count = Session.objects.count()
    response = APIClient().post("/api/v1/auth/token/", {"username": "coordinator", "password": PASSWORD})
    assert response.status_code == 200 and "sessionid" not in response.cookies
    assert Session.objects.count() == count


def test_staff_superuser_groups_and_permissions_changes_are_audited(coordinator, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD + "-root")
    staff = Client()
    staff.force_login(admin)
    group = Group.objects.create(name="Auditors")
    permission = Permission.objects.get(codename="view_auditevent")
    group.permissions.add(permission)
    coordinator.is_staff = True
    coordinator.save()
    coordinator.is_superuser = True
    coordinator.save(update_fields=["is_superuser"])
    coordinator.groups.add(group)
    coordinator.user_permissions.add(permission)
    coordinator.groups.remove(group)
    events = {e.action: e.changes for e in m.AuditEvent.objects.exclude(action__startswith="auth.")}
    assert events["user.create"]["is_superuser"] is True  # the superuser itself, born with rights
    assert events["group.permissions_add"] == {"permissions": [str(permission)], "ids": [permission.pk]}
    assert events["user.groups_add"] == {"groups": ["Auditors"], "ids": [group.pk]}
    assert events["user.groups_remove"] == {"groups": ["Auditors"], "ids": [group.pk]}
    assert events["user.permissions_add"]["ids"] == [permission.pk]
    updates = [e.changes for e in m.AuditEvent.objects.filter(action="user.update").order_by("id")]
    assert updates == [{"is_staff": [False, True]}, {"is_superuser": [False, True]}]


def test_granting_staff_in_the_admin_names_the_admin(coordinator, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD + "-root")
    staff = Client()
    staff.force_login(admin)
    page = staff.get(f"/admin/auth/user/{coordinator.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in ("username", "first_name", "last_name", "email")}
    data.update(
        is_active="on",
        is_staff="on",
        last_login_0="",
        last_login_1="",
        date_joined_0=coordinator.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=coordinator.date_joined.strftime("%H:%M:%S"),
    )
    response = staff.post(f"/admin/auth/user/{coordinator.pk}/change/", data)
    assert response.status_code == 302, response.content
    event = m.AuditEvent.objects.get(action="user.update")
    assert event.actor == admin and event.changes == {"is_staff": [False, True]}


def test_a_sign_out_is_audited(coordinator):
    client = portal_client()
    client.post("/logout/")
    assert audit_actions()[-1] == "auth.logout"
    assert audit_actions().count("auth.logout") == 1  # once, however the sign-out came about
