import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import models as m
from cases.services import imaging
from tests import factories as f


def add(case, by, uploads):
    return imaging.imaging_study_add(
        case=case,
        by=by,
        modality="XR",
        body_site="Left femur",
        performed_on=timezone.localdate(),
        impression="Loosening.",
        key_images=uploads,
    )


def test_a_radiologist_adds_a_study_with_key_images_under_random_names(case, radiologist):
    study = add(case, radiologist, [(f.png_upload("Voss_Elena_MRN123.png"), "Lateral knee")])
    key_image = study.key_images.get()
    assert key_image.caption == "Lateral knee"
    assert "Voss" not in key_image.image.name and key_image.image.name.startswith("key-images/")
    assert (key_image.width, key_image.height) == (40, 30)
    assert m.AuditEvent.objects.filter(action="imaging.create", case_id=case.pk).exists()


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("x.png", b"<html>not an image</html>", content_type="image/png"),
        SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, content_type="image/png"),
        SimpleUploadedFile("x.pdf", b"%PDF-1.4\n", content_type="application/pdf"),
    ],
    ids=["html", "truncated-png", "pdf"],
)
def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_saved(upload, case, radiologist):
    with pytest.raises(ValidationError) as refused:
        add(case, radiologist, [(upload, "caption")])
    assert "image" in refused.value.message_dict
    assert not m.ImagingStudy.objects.exists()


def test_an_image_over_the_size_limit_is_refused(case, radiologist, settings):
    settings.KEY_IMAGE_MAX_BYTES = 100
    with pytest.raises(ValidationError):
        add(case, radiologist, [(f.png_upload(size=(300, 300)), "big")])


def test_only_radiology_adds_imaging(case, pathologist):
    with pytest.raises(PermissionDenied):
        add(case, pathologist, [])


def test_the_stored_suffix_comes_from_the_content_not_the_uploaders_name(case, radiologist):
    study = add(case, radiologist, [(f.png_upload("looks-like-a-page.html"), "caption")])
    assert study.key_images.get().image.name.endswith(".png")


def test_fetching_a_key_image_is_audited_and_the_api_points_to_the_checked_view(case, radiologist):
    from django.test import Client

    study = add(case, radiologist, [(f.png_upload(), "caption")])
    image = study.key_images.get()
    client = Client()
    client.force_login(radiologist)
    assert client.get(f"/key-images/{image.pk}/").status_code == 200
    assert m.AuditEvent.objects.filter(action="key_image.view", actor=radiologist, case_id=case.pk).exists()
    listed = client.get(f"/api/v1/imaging-studies/{study.pk}/").json()["key_images"][0]
    assert listed["image"] == f"/key-images/{image.pk}/"
