from django.conf import settings
from django.db import models

from .coding import Laterality
from .errors import FrozenRecordError


class ReportStatus(models.TextChoices):
    PRELIMINARY = "preliminary", "Preliminary"
    FINAL = "final", "Final"
    AMENDED = "amended", "Amended"


class Discrepancy(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major — diagnosis or management changes"


# What a report says, in reading order: every field an author writes and an amendment may change.
REPORT_FIELDS = [
    "diagnosis",
    "specimen",
    "laterality",
    "procedure",
    "collected_on",
    "topography",
    "morphology",
    "icdo3_code",
]


class PathologyReport(models.Model):
    """A pathology report. Amending creates a new report that supersedes this one, which then never changes."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="pathology_reports")
    specimen = models.CharField(max_length=300)
    procedure = models.CharField(max_length=300)
    collected_on = models.DateField()
    diagnosis = models.TextField()
    # Free text from before coded fields: what did not parse as a code stays here, flagged for review.
    icdo3_code = models.CharField("ICD-O-3 (free text)", max_length=16, blank=True)
    icdo3_needs_review = models.BooleanField(default=False)
    topography = models.CharField("ICD-O-3 topography", max_length=8, blank=True)
    topography_display = models.CharField(max_length=300, blank=True)
    morphology = models.CharField("ICD-O-3 morphology", max_length=8, blank=True)
    morphology_display = models.CharField(max_length=300, blank=True)
    laterality = models.CharField(max_length=10, choices=Laterality.choices, blank=True)
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.PRELIMINARY)
    # One-to-one: a report is superseded at most once, so every amendment chain has exactly one current report.
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    amendment_reason = models.TextField(blank=True)
    discrepancy = models.CharField(max_length=8, choices=Discrepancy.choices, blank=True)
    pathologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_out_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    # Not columns: set on the rows selectors.pathology_chain returns, from the case's prefetched reports.
    replaced_by: "PathologyReport | None"
    is_current: bool
    diagnosis_changed: bool

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ReportStatus.values), name="pathology_status_valid"),
            models.CheckConstraint(
                condition=models.Q(discrepancy__in=[*Discrepancy.values, ""]), name="pathology_discrepancy_valid"
            ),
            # An amended report always names what it supersedes, why, and how much it changes.
            models.CheckConstraint(
                condition=(
                    models.Q(status="amended", supersedes__isnull=False, discrepancy__in=Discrepancy.values)
                    & ~models.Q(amendment_reason="")
                )
                | (~models.Q(status="amended") & models.Q(supersedes__isnull=True, discrepancy="")),
                name="pathology_amendment_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(status="preliminary") | models.Q(signed_out_at__isnull=False),
                name="pathology_signed_out_when_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} report {self.pk}: {self.diagnosis[:60]}"

    @property
    def is_superseded(self) -> bool:
        return hasattr(self, "superseded_by")

    def save(self, *args, **kwargs):
        # Model-level guard behind the services: a superseded report is frozen.
        if self.pk and PathologyReport.objects.filter(supersedes_id=self.pk).exists():
            raise FrozenRecordError("A superseded pathology report cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != ReportStatus.PRELIMINARY or PathologyReport.objects.filter(supersedes_id=self.pk).exists():
            raise FrozenRecordError("A signed-out pathology report cannot be deleted; amend it instead.")
        return super().delete(*args, **kwargs)
