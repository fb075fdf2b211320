"""A member of another board gets "not found" on every URL of this board's patients, cases, meetings
and files, whether reading or writing; key images leave the server only through the checked view."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from tests import factories as f


@pytest.fixture
def everything(make_case, coordinator, chair, quorate_meeting, orthopaedic):
    """One case of this board with a row of every kind a URL can name."""
    case = make_case("consensus")
    study = case.imaging_studies.get()
    image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Key image")
    report = case.pathology_reports.get()
    decision = f.DecisionFactory(case=case, meeting=quorate_meeting, recorded_by=coordinator)
    follow_up = m.FollowUp.objects.create(
        case=case, kind="action", description="Review", owner=orthopaedic, due_on=timezone.localdate()
    )
    item = m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=1)
    return {
        "case": case.pk,
        "patient": case.patient_id,
        "image": image.pk,
        "report": report.pk,
        "decision": decision.pk,
        "follow_up": follow_up.pk,
        "meeting": quorate_meeting.pk,
        "item": item.pk,
    }


URLS = [
    ("case-detail", "case"),
    ("referral-edit", "case"),
    ("case-move", ("case", "imaging")),
    ("case-move-back", "case"),
    ("imaging-new", "case"),
    ("pathology-new", "case"),
    ("opinion-edit", "case"),
    ("decision-edit", "case"),
    ("surveillance-apply", "case"),
    ("patient-detail", "patient"),
    ("case-new", "patient"),
    ("key-image", "image"),
    ("pathology-amend", "report"),
    ("pathology-sign-out", "report"),
    ("decision-sign", "decision"),
    ("decision-correct", "decision"),
    ("follow-up-done", "follow_up"),
    ("follow-up-deviate", "follow_up"),
    ("meeting-detail", "meeting"),
    ("meeting-run", "meeting"),
    ("agenda-add", "meeting"),
    ("agenda-reorder", "meeting"),
    ("agenda-publish", "meeting"),
    ("attendance-record", "meeting"),
    ("meeting-status", "meeting"),
    ("meeting-run-item", ("meeting", "item")),
    ("agenda-item-update", "item"),
    ("agenda-item-remove", "item"),
    ("agenda-outcome", "item"),
]


def url_for(name, keys, ids) -> str:
    """URL arguments name rows of `everything`, or are literal (a stage)."""
    keys = keys if isinstance(keys, tuple) else (keys,)
    return reverse(name, args=[ids.get(key, key) for key in keys])


def counts() -> dict:
    models = [m.Case, m.ImagingStudy, m.KeyImage, m.PathologyReport, m.Opinion, m.Decision, m.FollowUp]
    models += [m.AgendaItem, m.Attendance, m.CaseEvent]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.parametrize(("name", "keys"), URLS, ids=[name for name, _ in URLS])
def test_an_outsider_gets_not_found_reading_or_writing(signed_in, outsider, everything, name, keys):
    client = signed_in(outsider)
    url = url_for(name, keys, everything)
    before = counts()
    assert client.get(url).status_code in (404, 405)
    post = client.post(url, {"to": "imaging", "note": "x", "status": "held", "order": "1", "outcome": "discussed"})
    assert post.status_code == 404
    assert counts() == before
    # The outsider read and changed nothing; the probes themselves are on the record.
    assert set(m.AuditEvent.objects.filter(actor=outsider).values_list("action", flat=True)) <= {
        "auth.login",
        "access.denied_404",
    }
    assert m.AuditEvent.objects.filter(actor=outsider, action="access.denied_404").exists()


def test_the_outsider_finds_none_of_it_in_lists_or_search(signed_in, outsider, everything):
    client = signed_in(outsider)
    case = m.Case.objects.select_related("patient").get(pk=everything["case"])
    for url in [reverse("dashboard"), reverse("case-list"), reverse("case-list") + "?q=" + case.patient.mrn]:
        assert case.patient.family_name.encode() not in client.get(url).content
    assert (
        reverse("meeting-detail", args=[everything["meeting"]]).encode()
        not in client.get(reverse("meeting-list")).content
    )


def test_a_member_gets_the_key_image_bytes_from_the_checked_view(signed_in, radiologist, everything):
    image = m.KeyImage.objects.get(pk=everything["image"])
    response = signed_in(radiologist).get(reverse("key-image", args=[image.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    with image.image.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()


def test_key_images_are_not_served_from_a_public_media_url(signed_in, radiologist, everything, settings):
    image = m.KeyImage.objects.get(pk=everything["image"])
    client = signed_in(radiologist)
    assert client.get("/" + settings.MEDIA_URL.strip("/") + "/" + image.image.name).status_code == 404
    assert image.image.name.encode() not in client.get(reverse("case-detail", args=[everything["case"]])).content


def test_a_key_image_whose_file_is_gone_is_not_found_rather_than_an_error(signed_in, radiologist, everything):
    image = m.KeyImage.objects.get(pk=everything["image"])
    image.image.storage.delete(image.image.name)
    assert signed_in(radiologist).get(reverse("key-image", args=[image.pk])).status_code == 404


def test_a_key_image_stored_under_a_non_image_suffix_is_served_as_bytes_not_as_a_page(
    signed_in, radiologist, everything
):
    image = m.KeyImage.objects.get(pk=everything["image"])
    with image.image.open("rb") as handle:
        content = handle.read()
    name = image.image.storage.save("key-images/polyglot.html", ContentFile(content))
    m.KeyImage.objects.filter(pk=image.pk).update(image=name)
    response = signed_in(radiologist).get(reverse("key-image", args=[image.pk]))
    assert response["Content-Type"] == "application/octet-stream"
