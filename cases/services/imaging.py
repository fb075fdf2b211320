"""Imaging studies and their key images."""

import warnings
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from .. import permissions
from ..models import Case, CaseEventKind, ImagingAddendum, ImagingStudy, KeyImage
from ..teaching.images import clean_image
from ..types import User
from .audit import audit_record, diff, snapshot
from .common import case_event_add, lock, require_not_withdrawn, save_validated
from .errors import Conflict
from .plausibility import check_record_date

STUDY_FIELDS = ["modality", "body_site", "performed_on", "accession_number", "findings", "impression"]
# The stored file's suffix comes from what Pillow found inside, never from the uploader's name.
ACCEPTED_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}


def validate_key_image(upload: UploadedFile) -> str:
    """Return the image's format if it is an accepted image small enough to keep; refuse otherwise."""
    if upload.size is None or upload.size > settings.KEY_IMAGE_MAX_BYTES:
        limit = settings.KEY_IMAGE_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"image": f"The image is larger than the {limit} MB limit."})
    try:
        upload.seek(0)
        # Pillow only warns about an image far larger than any key image: here that is a refusal.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as probe:
                image_format = probe.format
                width, height = probe.size
                probe.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValidationError({"image": too_many_pixels()}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            {"image": "The file is not an image that can be read (PNG, JPEG, GIF or WebP)."}
        ) from None
    finally:
        upload.seek(0)
    if width * height > settings.KEY_IMAGE_MAX_PIXELS:
        raise ValidationError({"image": too_many_pixels(width, height)})
    if image_format not in ACCEPTED_FORMATS:
        raise ValidationError({"image": f"{image_format} images are not accepted; use PNG, JPEG, GIF or WebP."})
    return image_format


def too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    size = f" ({width} × {height})" if width else ""
    limit = settings.KEY_IMAGE_MAX_PIXELS / 1_000_000
    return f"The image{size} has more than {limit:g} million pixels: scale it down (a key image needs far fewer)."


def too_many_images(count: int) -> ValidationError:
    return ValidationError(
        {"image": f"A study holds at most {settings.KEY_IMAGE_MAX_PER_STUDY} key images; this would make {count}."}
    )


def check_study_date(case: Case, day: date | None) -> None:
    check_record_date(field="performed_on", label="study date", day=day, birth_date=case.patient.birth_date)


def imaging_study_add(
    *, case: Case, by: User, key_images: Sequence[tuple[UploadedFile, str]] = (), **fields: Any
) -> ImagingStudy:
    permissions.require(by, "imaging.add", case.board_id)
    if len(key_images) > settings.KEY_IMAGE_MAX_PER_STUDY:
        raise too_many_images(len(key_images))
    formats = [validate_key_image(upload) for upload, _caption in key_images]
    check_study_date(case, fields.get("performed_on"))
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


def key_image_add(*, study: ImagingStudy, by: User, upload: UploadedFile, caption: str) -> KeyImage:
    permissions.require(by, "imaging.add", study.case.board_id)
    image_format = validate_key_image(upload)
    with transaction.atomic():
        order = study.key_images.count() + 1
        if order > settings.KEY_IMAGE_MAX_PER_STUDY:
            raise too_many_images(order)
        key_image = _key_image_save(study=study, upload=upload, image_format=image_format, caption=caption, order=order)
        audit_record(actor=by, action="key_image.create", obj=key_image, changes={"caption": caption})
    return key_image


def imaging_study_amend(*, study: ImagingStudy, by: User, amendment_reason: str, **fields: Any) -> ImagingStudy:
    """Correct a study the way pathology is corrected: a new study supersedes it, with a reason.

    The original is never overwritten; it stays readable, marked as superseded. Its key images stay with it
    and are shown with the amendment too.
    """
    permissions.require(by, "imaging.add", study.case.board_id)
    unknown = set(fields) - set(STUDY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown imaging fields: {sorted(unknown)}")
    reason = (amendment_reason or "").strip()
    if not reason:
        raise ValidationError({"amendment_reason": "Say what was wrong, e.g. “Wrong side: left, not right”."})
    check_study_date(study.case, fields.get("performed_on"))
    with transaction.atomic():
        # Lock the case first, then the study: the same order as every other case write.
        case = lock(study.case)
        study = lock(study)
        require_not_withdrawn(case)
        if ImagingStudy.objects.filter(supersedes=study).exists():
            raise Conflict("This study has already been amended; amend the current version.", code="study_superseded")
        amended = ImagingStudy(
            case=case,
            supersedes=study,
            amendment_reason=reason,
            radiologist=by,
            **{name: fields.get(name, getattr(study, name)) for name in STUDY_FIELDS},
        )
        changes = diff(snapshot(study, STUDY_FIELDS), snapshot(amended, STUDY_FIELDS))
        if not changes:
            # An amendment that corrects nothing would only bury the original under a copy.
            raise ValidationError("The amendment changes nothing: correct the field that is wrong.")
        save_validated(amended)
        for image in study.key_images.all():
            KeyImage.objects.create(
                study=amended, image=image.image.name, width=image.width, height=image.height,
                caption=image.caption, order=image.order,
            )  # fmt: skip
        case_event_add(
            case=case,
            kind=CaseEventKind.IMAGING,
            summary=f"{amended.get_modality_display()} of {amended.body_site} amended",
            actor=by,
            note=reason,
        )
        audit_record(
            actor=by,
            action="imaging.amend",
            obj=amended,
            changes={"supersedes": study.pk, "amendment_reason": reason, **changes},
        )
    return amended


def imaging_addendum_add(*, study: ImagingStudy, by: User, text: str) -> ImagingAddendum:
    """Add a note to a reported study (a late comparison, a clarification); the report itself is unchanged."""
    permissions.require(by, "imaging.add", study.case.board_id)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum."})
    with transaction.atomic():
        case = lock(study.case)
        require_not_withdrawn(case)
        addendum = ImagingAddendum(study=study, text=text, author=by)
        save_validated(addendum)
        case_event_add(
            case=case,
            kind=CaseEventKind.IMAGING,
            summary=f"Addendum to {study.modality} of {study.body_site}",
            actor=by,
        )
        audit_record(actor=by, action="imaging.addendum", obj=addendum, case_id=case.pk, changes={"study": study.pk})
    return addendum
