import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["performed_on", "id"]
        verbose_name_plural = "imaging studies"
        constraints = [
            models.CheckConstraint(condition=models.Q(modality__in=Modality.values), name="imaging_modality_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.body_site} ({self.performed_on})"


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
