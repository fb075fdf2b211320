"""Imaging studies and their key images."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from .. import permissions
from ..models import Case, CaseEventKind, ImagingStudy, KeyImage
from ..teaching.images import clean_image
from .audit import audit_record, snapshot
from .common import case_event_add, save_validated

STUDY_FIELDS = ["modality", "body_site", "performed_on", "accession_number", "findings", "impression"]
# The stored file's suffix comes from what Pillow found inside, never from the uploader's name.
ACCEPTED_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}


def validate_key_image(upload: UploadedFile) -> str:
    """Return the image's format if it is an accepted image small enough to keep; refuse otherwise."""
    """Accept a key image only if it is small enough and Pillow can read it as an image."""
    if upload.size is None or upload.size > settings.KEY_IMAGE_MAX_BYTES:
        limit = settings.KEY_IMAGE_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"image": f"The image is larger than the {limit} MB limit."})
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            image_format = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            {"image": "The file is not an image that can be read (PNG, JPEG, GIF or WebP)."}
        ) from None
    finally:
        upload.seek(0)
    if image_format not in ACCEPTED_FORMATS:
        raise ValidationError({"image": f"{image_format} images are not accepted; use PNG, JPEG, GIF or WebP."})
    return image_format


def imaging_study_add(*, case: Case, by, key_images: list[tuple[UploadedFile, str]] = (), **fields) -> ImagingStudy:
    permissions.require(by, "imaging.add", case.board_id)
    formats = [validate_key_image(upload) for upload, _caption in key_images]
    study = ImagingStudy(case=case, radiologist=by, **fields)
    with transaction.atomic():
        save_validated(study)
        for order, ((upload, caption), image_format) in enumerate(zip(key_images, formats, strict=True), start=1):
            _key_image_save(study=study, upload=upload, image_format=image_format, caption=caption, order=order)
        case_event_add(
            case=case,
            kind=CaseEventKind.IMAGING,
            summary=f"{study.get_modality_display()} of {study.body_site} added",
            actor=by,
        )
        audit_record(actor=by, action="imaging.create", obj=study, changes=snapshot(study, STUDY_FIELDS))
    return study


def _key_image_save(
    *, study: ImagingStudy, upload: UploadedFile, image_format: str, caption: str, order: int
) -> KeyImage:
    key_image = KeyImage(study=study, caption=caption, order=order)
    # Stored as pixels only: the upload's EXIF, XMP, comments and text chunks never reach the disk.
    upload.seek(0)
    try:
        data, stored_format = clean_image(upload.read(), image_format)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError({"image": "The image could not be decoded; export it again as PNG or JPEG."}) from None
    key_image.image.save("image" + ACCEPTED_FORMATS[stored_format], ContentFile(data), save=False)
    save_validated(key_image)
    return key_image


def key_image_add(*, study: ImagingStudy, by, upload: UploadedFile, caption: str) -> KeyImage:
    permissions.require(by, "imaging.add", study.case.board_id)
    image_format = validate_key_image(upload)
    with transaction.atomic():
        order = study.key_images.count() + 1
        key_image = _key_image_save(study=study, upload=upload, image_format=image_format, caption=caption, order=order)
        audit_record(actor=by, action="key_image.create", obj=key_image, changes={"caption": caption})
    return key_image
