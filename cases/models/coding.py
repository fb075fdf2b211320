"""Coded data: a case's diagnoses (ICD-10, ICD-O-3, laterality), its TNM staging history, and the
code lists a site loads because their licence keeps them out of the project (cases/codes/)."""

from django.conf import settings
from django.db import models


class Laterality(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


class CodeConcept(models.Model):
    """One code of a licensed list the site loaded (`manage.py load_code_list`)."""

    list_name = models.CharField(max_length=40)
    code = models.CharField(max_length=20)
    display = models.CharField(max_length=300)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["list_name", "code"]
        constraints = [models.UniqueConstraint(fields=["list_name", "code"], name="code_concept_unique")]

    def __str__(self) -> str:
        return f"{self.list_name} {self.code} {self.display}"


class DiagnosisRole(models.TextChoices):
    PRIMARY = "primary", "Primary cancer"
    COMORBIDITY = "comorbidity", "Comorbidity"


class Diagnosis(models.Model):
    """A coded diagnosis of a case: its primary cancer (one) or a comorbidity (any number)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="diagnoses")
    role = models.CharField(max_length=12, choices=DiagnosisRole.choices)
    icd10_code = models.CharField("ICD-10-CM code", max_length=10, blank=True)
    icd10_display = models.CharField(max_length=300, blank=True)
    topography = models.CharField("ICD-O-3 topography", max_length=8, blank=True)
    topography_display = models.CharField(max_length=300, blank=True)
    morphology = models.CharField("ICD-O-3 morphology", max_length=8, blank=True)
    morphology_display = models.CharField(max_length=300, blank=True)
    laterality = models.CharField(max_length=10, choices=Laterality.choices, blank=True)
    text = models.CharField(max_length=500, blank=True, help_text="The diagnosis in words.")
    diagnosed_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role", "created_at", "id"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=DiagnosisRole.values), name="diagnosis_role_valid"),
            models.CheckConstraint(
                condition=models.Q(laterality__in=[*Laterality.values, ""]), name="diagnosis_laterality_valid"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(role="primary"), name="diagnosis_one_primary_per_case"
            ),
            models.CheckConstraint(
                condition=~models.Q(icd10_code="") | ~models.Q(morphology="") | ~models.Q(text=""),
                name="diagnosis_says_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.icd10_code or self.morphology} {self.text}".strip()


class StagingKind(models.TextChoices):
    CLINICAL = "clinical", "Clinical (cTNM)"
    PATHOLOGICAL = "pathological", "Pathological (pTNM)"


class TnmStaging(models.Model):
    """One TNM staging of a case. Never edited: a restaging is a new row, so the history stays."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="stagings")
    kind = models.CharField(max_length=12, choices=StagingKind.choices)
    # Prefixes: y after neoadjuvant therapy, r for a recurrence after a disease-free interval.
    after_therapy = models.BooleanField("y prefix (after therapy)", default=False)
    recurrence = models.BooleanField("r prefix (recurrence)", default=False)
    t = models.CharField("T", max_length=20, blank=True)
    n = models.CharField("N", max_length=20, blank=True)
    m = models.CharField("M", max_length=20, blank=True)
    stage_group = models.CharField(max_length=10, blank=True)
    edition = models.CharField(max_length=10)
    staged_on = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=StagingKind.values), name="staging_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.t}{self.n}{self.m} {self.stage_group}".strip()

    @property
    def prefix(self) -> str:
        return ("y" if self.after_therapy else "") + ("r" if self.recurrence else "") + self.kind[0]

    def category(self, letter: str) -> str:
        """The category with its prefixes, e.g. ypT2a; empty when not staged."""
        value = getattr(self, letter.lower())
        return f"{self.prefix}{value}" if value else ""
