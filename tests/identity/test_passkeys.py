"""Security keys (WebAuthn) against hostile answers: every payload of the hostile corpus, in the fields
the browser's script sends, is refused with a message and changes nothing. (The ceremonies themselves
run in Chromium with its virtual authenticator: tests/identity/test_identity_browser.py.) A valid answer
needs a real authenticator, so these two views are judged here rather than in tests/hostile/."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from cases import models as m
from tests import factories as f
from tests.hostile import payloads as hc
from tests.hostile.harness import snapshot

ANSWERS = [p.value for p in hc.PAYLOADS if p.web and not isinstance(p.value, int)] + [
    "{}",
    "[]",
    json.dumps({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}),
    json.dumps({"id": "x", "response": {"clientDataJSON": "e30", "attestationObject": "oA"}, "type": "public-key"}),
]


@pytest.mark.parametrize("view", ["passkey-register", "passkey-verify"])
def test_hostile_answers_are_refused_and_change_nothing(view, db, settings):
    settings.AXES_FAILURE_LIMIT = 1000  # the input is judged here; tests/identity/test_mfa.py covers the lockout
    user = f.UserFactory(username="holder")
    if view == "passkey-verify":
        m.WebAuthnCredential.objects.create(user=user, credential_id="AAAA", public_key=b"\xa0", name="Key")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    options = "passkey-reg-options" if view == "passkey-register" else "passkey-options"
    before = snapshot()
    for answer in ANSWERS:
        assert client.post(reverse(options)).status_code == 200
        body = answer if isinstance(answer, str) else answer.decode("latin-1")
        response = client.post(reverse(view), {"credential": body, "name": "Key"})
        assert 400 <= response.status_code < 500, (answer, response.status_code)
        assert response.json()["detail"], answer
        assert not m.WebAuthnCredential.objects.exclude(credential_id="AAAA").exists()
    after = snapshot()
    assert {k: v for k, v in after.items() if k is not m.AuditEvent} == {
        k: v for k, v in before.items() if k is not m.AuditEvent
    }
    assert client.session.get("_tb_mfa") == ("ok" if view == "passkey-register" else "verify")


def test_an_answer_without_a_challenge_is_refused(db):
    user = f.UserFactory(username="holder")
    client = Client()
    client.force_login(user)
    response = client.post(reverse("passkey-register"), {"credential": "{}", "name": "Key"})
    assert response.status_code == 400 and "expired or was already used" in response.json()["detail"]


def test_the_key_pages_refuse_the_wrong_moment(db):
    user = f.UserFactory(username="holder")
    client = Client()
    client.force_login(user)
    assert client.post(reverse("passkey-options")).status_code == 403  # no second factor is owed
    m.WebAuthnCredential.objects.create(user=user, credential_id="AAAA", public_key=b"\xa0")
    client.force_login(user)  # now enrolled: the session owes one
    assert client.post(reverse("passkey-reg-options")).status_code == 403  # adding a key needs it first
