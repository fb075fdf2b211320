import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models

from .errors import FrozenRecordError


class Modality(models.TextChoices):
    XR = "XR", "Radiograph (XR)"
    CT = "CT", "Computed tomography (CT)"
    MR = "MR", "Magnetic resonance (MR)"
    PET = "PET", "PET"
    PET_CT = "PET-CT", "PET-CT"
    US = "US", "Ultrasound (US)"
    NM = "NM", "Nuclear medicine (NM)"


class ImagingStudy(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="imaging_studies")
    modality = models.CharField(max_length=10, choices=Modality.choices)
    body_site = models.CharField(max_length=200)
    performed_on = models.DateField()
    accession_number = models.CharField(max_length=64, blank=True)
    findings = models.TextField(blank=True)
    impression = models.TextField(blank=True)
    radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Like pathology: a correction is a new study that supersedes this one, with a reason; the original
    # then never changes and stays readable beside it.
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    amendment_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Not a column: set on the rows selectors.imaging_record returns (False once a study supersedes this one).
    current: bool

    class Meta:
        ordering = ["performed_on", "id"]
        verbose_name_plural = "imaging studies"
        constraints = [
            models.CheckConstraint(condition=models.Q(modality__in=Modality.values), name="imaging_modality_valid"),
            models.CheckConstraint(
                condition=models.Q(supersedes__isnull=True, amendment_reason="")
                | (models.Q(supersedes__isnull=False) & ~models.Q(amendment_reason="")),
                name="imaging_amendment_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.body_site} ({self.performed_on})"

    @property
    def is_superseded(self) -> bool:
        return hasattr(self, "superseded_by")

    def save(self, *args, **kwargs):
        # Model-level guard behind the services: a superseded study is frozen.
        if self.pk and ImagingStudy.objects.filter(supersedes_id=self.pk).exists():
            raise FrozenRecordError("A superseded imaging study cannot be changed.")
        super().save(*args, **kwargs)


class ImagingAddendum(models.Model):
    """A note added to a study after it was reported; it never changes the report itself."""

    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "imaging addenda"
        constraints = [models.CheckConstraint(condition=~models.Q(text=""), name="imaging_addendum_has_text")]

    def __str__(self) -> str:
        return self.text[:60]


def key_image_path(instance: "KeyImage", filename: str) -> str:
    # A random name: the uploaded file name may carry patient identifiers or path tricks.
    suffix = PurePath(filename).suffix.lower()[:6]
    return f"key-images/{uuid.uuid4().hex}{suffix}"


class KeyImage(models.Model):
    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="key_images")
    image = models.ImageField(upload_to=key_image_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    caption = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.caption

    @property
    def print_url(self) -> str:
        """The address a document names the image by: under MEDIA_URL whatever holds the file (a folder or a
        bucket), so the PDF renderer reads it back through the storage, and a fingerprint never holds a
        bucket's signed, expiring URL."""
        return f"/{settings.MEDIA_URL.strip('/')}/{self.image.name}"
