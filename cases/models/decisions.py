from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .errors import FrozenRecordError


class PlanCategory(models.TextChoices):
    SURGERY = "surgery", "Surgery"
    SYSTEMIC_THERAPY = "systemic_therapy", "Systemic therapy"
    RADIOTHERAPY = "radiotherapy", "Radiotherapy"
    SURVEILLANCE = "surveillance", "Surveillance"
    FURTHER_IMAGING = "further_imaging", "Further imaging"
    BIOPSY = "biopsy", "Biopsy"
    CLINICAL_TRIAL = "clinical_trial", "Clinical trial"
    SUPPORTIVE_CARE = "supportive_care", "Supportive care"
    NO_FURTHER_ACTION = "no_further_action", "No further action"


def validate_plan(value) -> None:
    """A plan is a non-empty list of {"category": <PlanCategory>, "detail": <text>} items."""
    if not isinstance(value, list) or not value:
        raise ValidationError("The plan needs at least one item.")
    for item in value:
        if not isinstance(item, dict) or set(item) - {"category", "detail"}:
            raise ValidationError('Each plan item is {"category": …, "detail": …}.')
        if item.get("category") not in PlanCategory.values:
            raise ValidationError(f"Unknown plan category: {item.get('category')!r}.")
        if not isinstance(item.get("detail", ""), str):
            raise ValidationError("A plan item's detail is text.")


class DecisionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class Concordance(models.TextChoices):
    """Does the plan follow the guideline the board works to? A "no" carries its reason."""

    YES = "yes", "Concordant with the guideline"
    NO = "no", "Not concordant"
    NOT_APPLICABLE = "not_applicable", "No guideline applies"


class TreatmentIntent(models.TextChoices):
    CURATIVE = "curative", "Curative"
    PALLIATIVE = "palliative", "Palliative"


# The quality fields of a decision (issue 17), recorded with it and frozen with it when signed.
QUALITY_FIELDS = [
    "guideline_concordance",
    "concordance_reason",
    "trial_considered",
    "trial_eligible",
    "trial_enrolled",
    "treatment_intent",
]


class Decision(models.Model):
    """The board's consensus on a case. Signed decisions never change; a correction supersedes them."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="decisions")
    meeting = models.ForeignKey(
        "cases.Meeting", on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    consensus_diagnosis = models.TextField()
    plan = models.JSONField(validators=[validate_plan])
    rationale = models.TextField(blank=True)
    dissent = models.TextField(blank=True, help_text="Who disagreed, and why.")
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # The pathology report current when the decision was made: if it is later amended, the
    # decision is shown as made on a superseded report.
    pathology_report = models.ForeignKey(
        "cases.PathologyReport", on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    # Basis: the ids of the pathology reports current when the decision was recorded and signed.
    basis = models.JSONField(default=list, blank=True)
    # Set (by a queryset update, like superseded_at) when a report of the basis of a signed decision is
    # amended: the decision rests on superseded pathology and the board must review it.
    stale_since = models.DateTimeField(null=True, blank=True)
    # Who was present and for which specialty, from the meeting's attendance at the moment of signing:
    # [{"user": id, "name": "...", "specialty": code}], never changed by a later attendance correction.
    attendance_snapshot = models.JSONField(default=list, blank=True)
    # Quality fields: empty (or null) means not recorded, and such a decision leaves the metric's denominator.
    guideline_concordance = models.CharField(max_length=16, choices=Concordance.choices, blank=True)
    concordance_reason = models.TextField(blank=True, help_text="Why the plan departs from the guideline.")
    trial_considered = models.BooleanField(null=True, blank=True, help_text="Was a clinical trial considered?")
    trial_eligible = models.BooleanField(null=True, blank=True, help_text="Is the patient eligible for it?")
    trial_enrolled = models.BooleanField(null=True, blank=True, help_text="Is the patient enrolled?")
    treatment_intent = models.CharField(max_length=12, choices=TreatmentIntent.choices, blank=True)
    status = models.CharField(max_length=8, choices=DecisionStatus.choices, default=DecisionStatus.DRAFT)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    supersede_reason = models.TextField(blank=True)
    # Set (by a queryset update, the one change a signed row allows) when a correction replaces it.
    superseded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        # Board analytics selects a period's signatures (cases/analytics/).
        indexes = [models.Index(fields=["signed_at"], name="decision_signed_at_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=DecisionStatus.values), name="decision_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status="draft", signed_at__isnull=True, signed_by__isnull=True)
                | models.Q(status="signed", signed_at__isnull=False, signed_by__isnull=False),
                name="decision_signature_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(supersedes__isnull=True) | ~models.Q(supersede_reason=""),
                name="decision_supersede_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(guideline_concordance__in=[*Concordance.values, ""]),
                name="decision_concordance_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(guideline_concordance="no") | ~models.Q(concordance_reason=""),
                name="decision_discordance_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(treatment_intent__in=[*TreatmentIntent.values, ""]), name="decision_intent_valid"
            ),
            # Eligibility is asked only of a trial considered, enrolment only of an eligible patient.
            models.CheckConstraint(
                condition=models.Q(trial_considered=True) | models.Q(trial_eligible__isnull=True),
                name="decision_trial_eligible_when_considered",
            ),
            models.CheckConstraint(
                condition=models.Q(trial_eligible=True) | models.Q(trial_enrolled__isnull=True),
                name="decision_trial_enrolled_when_eligible",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status="signed", superseded_at__isnull=True),
                name="decision_one_current_signed_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} decision {self.pk} on case {self.case_id}"

    @property
    def is_signed(self) -> bool:
        return self.status == DecisionStatus.SIGNED

    @property
    def plan_categories(self) -> list[str]:
        return [item["category"] for item in self.plan or []]

    @property
    def needs_review(self) -> bool:
        """Signed, still current, and resting on pathology amended since."""
        return self.is_signed and self.superseded_at is None and self.stale_since is not None

    def snapshot_rows(self) -> list[dict]:
        from .boards import Specialty

        return [
            {**row, "specialty_label": Specialty(row["specialty"]).label if row.get("specialty") else "Coordinator"}
            for row in self.attendance_snapshot or []
        ]

    def plan_items(self) -> list[dict]:
        return [
            {
                "category": item["category"],
                "label": PlanCategory(item["category"]).label,
                "detail": item.get("detail", ""),
            }
            for item in self.plan or []
        ]

    @property
    def trial_summary(self) -> str:
        if self.trial_considered is None:
            return ""
        if not self.trial_considered:
            return "No trial considered"
        if not self.trial_eligible:
            return "Considered, not eligible"
        return "Eligible and enrolled" if self.trial_enrolled else "Eligible, not enrolled"

    def quality_items(self) -> list[tuple[str, str]]:
        """The quality fields as (label, text) for the page and the paper; "Not recorded" where empty."""
        concordance = self.get_guideline_concordance_display() if self.guideline_concordance else ""
        if self.guideline_concordance == Concordance.NO:
            concordance = f"{concordance}: {self.concordance_reason}"
        return [
            ("Guideline concordance", concordance or "Not recorded"),
            ("Clinical trial", self.trial_summary or "Not recorded"),
            ("Treatment intent", self.get_treatment_intent_display() if self.treatment_intent else "Not recorded"),
        ]

    def save(self, *args, **kwargs):
        if self.pk and Decision.objects.filter(pk=self.pk, status=DecisionStatus.SIGNED).exists():
            raise FrozenRecordError("A signed decision cannot be changed; record a correction that supersedes it.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Decision.objects.filter(pk=self.pk, status=DecisionStatus.SIGNED).exists():
            raise FrozenRecordError("A signed decision cannot be deleted.")
        return super().delete(*args, **kwargs)
