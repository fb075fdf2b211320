"""Abuse limits (issue 11): key images capped in pixels (a decompression bomb is refused, not warned about)
and in number per study; stored files private (0600 in 0700 folders)."""

import io
import os
import stat

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cases import models as m
from cases.services import imaging
from tests import factories as f


def png(width, height) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def study(make_case, radiologist):
    return make_case("imaging").imaging_studies.get()


def test_the_issues_13000_square_png_is_refused_with_a_clear_error(study, radiologist):
    upload = png(13000, 13000)
    assert upload.size < 1024 * 1024  # small on disk: a bomb, not a big file
    with pytest.raises(ValidationError) as refused:
        imaging.key_image_add(study=study, by=radiologist, upload=upload, caption="Bomb")
    assert "more than 30 million pixels" in str(refused.value)
    assert study.key_images.count() == 0


def test_an_image_under_pillows_bomb_limit_but_over_ours_is_refused(study, radiologist, settings):
    settings.KEY_IMAGE_MAX_PIXELS = 1_000_000
    with pytest.raises(ValidationError, match=r"1200 × 1000\) has more than 1 million pixels"):
        imaging.key_image_add(study=study, by=radiologist, upload=png(1200, 1000), caption="Too big")


def test_pillows_bomb_warning_counts_as_a_refusal(study, radiologist, monkeypatch, settings):
    settings.KEY_IMAGE_MAX_PIXELS = 10**12
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 60 × 20 = 1200 px: Pillow warns (and errs at 2x)
    with pytest.raises(ValidationError, match="million pixels"):
        imaging.key_image_add(study=study, by=radiologist, upload=png(60, 20), caption="Warned")


def test_a_study_holds_a_bounded_number_of_key_images(study, radiologist, settings):
    settings.KEY_IMAGE_MAX_PER_STUDY = 1
    imaging.key_image_add(study=study, by=radiologist, upload=f.png_upload(), caption="First")
    with pytest.raises(ValidationError, match="at most 1 key images; this would make 2"):
        imaging.key_image_add(study=study, by=radiologist, upload=f.png_upload(), caption="Second")
    assert study.key_images.count() == 1


def test_stored_key_images_are_0600_in_0700_folders(study, radiologist, settings):
    image = imaging.key_image_add(study=study, by=radiologist, upload=f.png_upload(), caption="Private")
    path = image.image.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_the_sqlite_file_is_made_private(tmp_path):
    import sqlite3

    from cases.files import _private_sqlite_file

    database = tmp_path / "tb.sqlite3"
    sqlite3.connect(database).close()
    os.chmod(database, 0o644)

    class Connection:
        vendor = "sqlite"
        settings_dict = {"NAME": str(database)}

    _private_sqlite_file(sender=None, connection=Connection())
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600


def test_fifty_usernames_from_one_address_are_slowed_then_refused_on_portal_admin_and_api(
    coordinator, settings, monkeypatch
):
    from django.core.cache import cache
    from django.test import Client
    from rest_framework.test import APIClient

    from cases import auth
    from cases import models as m

    settings.TUMORBOARD_LOGIN_ADDRESS_LIMIT = 6
    settings.TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER = 3
    slept = []
    monkeypatch.setattr(auth.time, "sleep", slept.append)
    portal, admin, api = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="203.0.113.7"), APIClient()
    answers = []
    for n in range(50):
        credentials = {"username": f"guess-{n}", "password": "wrong-password-123"}
        if n % 3 == 0:
            answers.append(portal.post("/login/", credentials).status_code)
        elif n % 3 == 1:
            answers.append(admin.post("/admin/login/", credentials).status_code)
        else:
            answer = api.post("/api/v1/auth/token/", credentials, REMOTE_ADDR="203.0.113.7")
            answers.append("throttled" if answer.json().get("code") == "throttled" else answer.status_code)
    assert slept == [0.5, 1.0, 2.0]  # progressive, before the refusals
    delayed = m.AuditEvent.objects.filter(action="auth.address_delayed").order_by("id")
    assert [(e.changes, e.ip_address, e.object_type) for e in delayed] == [
        ({"failures": 3, "seconds": 0.5}, "203.0.113.7", "address"),
        ({"failures": 4, "seconds": 1.0}, "203.0.113.7", "address"),
        ({"failures": 5, "seconds": 2.0}, "203.0.113.7", "address"),
    ]
    throttled = answers.count("throttled")  # the API's own login throttle (10/min) answers some before any check
    assert answers[6:].count(429) == 50 - 6 - throttled  # each refusal past the limit says so
    assert m.AuditEvent.objects.filter(action="auth.address_limited").count() == 50 - 6 - throttled
    # The right password from that address is refused too, until the window passes, and is told why (not as a
    # typo) on the portal, the admin and the API; another address signs in.
    right = {"username": "coordinator", "password": "correct-horse-battery"}
    refused = Client(REMOTE_ADDR="203.0.113.7").post("/login/", right)
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    assert "Too many failed sign-ins from this address" in refused.content.decode()
    assert "correct username and password" not in refused.content.decode()
    assert Client(REMOTE_ADDR="203.0.113.7").post("/admin/login/", right).status_code == 429
    cache.clear()  # the API's own login throttle (per address, in the cache) would answer first
    token = APIClient().post("/api/v1/auth/token/", right, REMOTE_ADDR="203.0.113.7")
    assert token.status_code == 429 and token.json()["code"] == "address_limited" and token["Retry-After"] == "900"
    assert (
        Client(REMOTE_ADDR="198.51.100.2")
        .post("/login/", {"username": "coordinator", "password": "correct-horse-battery"})
        .status_code
        == 302
    )
    assert set(answers) <= {200, 400, 401, 429, "throttled"}


def test_a_history_over_twenty_thousand_characters_is_refused_with_a_clear_error(case, coordinator):
    from cases.services import cases as case_services

    case_services.case_update(case=case, by=coordinator, history="x" * 20_000)  # the limit itself is fine
    case.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        case_services.case_update(case=case, by=coordinator, history="x" * 1_900_000)
    assert refused.value.message_dict == {
        "history": [
            "At most 20,000 characters here (this has 1,900,000): shorten it, or attach the full text to the "
            "record it comes from."
        ]
    }
    case.refresh_from_db()
    assert len(case.history) == 20_000


def test_the_api_and_the_portal_say_so_too(api, signed_in, case, coordinator):
    client = api(coordinator)
    response = client.patch(
        f"/api/v1/cases/{case.pk}/", {"history": "x" * 20_001}, HTTP_IF_MATCH=f'"case-{case.pk}-v{case.version}"'
    )
    assert response.status_code == 400, response.content
    assert "At most 20,000 characters" in str(response.json())
    case.refresh_from_db()
    assert case.history != "x" * 20_001
    before = (case.version, case.history, m.AuditEvent.objects.filter(action="case.update").count())
    data = {
        "version": case.version,
        "referring_clinician": case.referring_clinician,
        "clinical_question": case.clinical_question,
        "key_labs": case.key_labs,
        "priority": case.priority,
        "history": "x" * 20_001,
    }
    page = signed_in(coordinator).post(reverse("referral-edit", args=[case.pk]), data)
    assert page.status_code == 400
    assert (
        "At most 20,000 characters here (this has 20,001): shorten it, or attach the full text to the record it "
        "comes from." in page.content.decode()
    )
    assert page.context["form"].errors["history"]  # shown at the field it is about
    case.refresh_from_db()
    assert (case.version, case.history, m.AuditEvent.objects.filter(action="case.update").count()) == before
