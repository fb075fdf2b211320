from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from .boards import BoardMembership


class Stage(models.TextChoices):
    INTAKE = "intake", "Intake"
    IMAGING = "imaging", "Imaging"
    PATHOLOGY = "pathology", "Pathology"
    REVISED_PATHOLOGY = "revised_pathology", "Revised pathology"
    CONSENSUS = "consensus", "Consensus"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


class PerformanceStatus(models.IntegerChoices):
    ECOG_0 = 0, "ECOG 0 — fully active"
    ECOG_1 = 1, "ECOG 1 — restricted in strenuous activity"
    ECOG_2 = 2, "ECOG 2 — ambulatory, no work"
    ECOG_3 = 3, "ECOG 3 — limited self-care"
    ECOG_4 = 4, "ECOG 4 — completely disabled"


class Case(models.Model):
    """One clinical question put to one board for one patient."""

    # A referral is complete, and may go on an agenda, only when these are filled.
    REFERRAL_FIELDS = ("referring_clinician", "clinical_question", "history")

    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="cases")
    board = models.ForeignKey("cases.Board", on_delete=models.PROTECT, related_name="cases")
    referring_clinician = models.CharField(max_length=200, blank=True)
    referring_email = models.EmailField(blank=True, help_text="Told the outcome once a decision is signed.")
    clinical_question = models.TextField(blank=True)
    history = models.TextField(blank=True, help_text="Diagnoses and prior treatment.")
    key_labs = models.TextField(blank=True, help_text="For example calcium, phosphate, PTH, with dates.")
    performance_status = models.PositiveSmallIntegerField(choices=PerformanceStatus.choices, null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.INTAKE)
    no_pathology_reason = models.TextField(
        blank=True, help_text="Why the case can reach consensus without a final pathology report."
    )
    version = models.PositiveIntegerField(default=1)
    # A case registered by mistake (a duplicate, the wrong patient) is withdrawn, never deleted: it leaves
    # the worklists and agendas but keeps its history and its audit trail.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: the board's members, set on the cases selectors.meeting_fhir returns (cases/interop/fhir.py).
    fhir_memberships: "list[BoardMembership]"

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stage__in=Stage.values), name="case_stage_valid"),
            models.CheckConstraint(condition=models.Q(priority__in=Priority.values), name="case_priority_valid"),
            models.CheckConstraint(
                condition=models.Q(performance_status__isnull=True) | models.Q(performance_status__lte=4),
                name="case_performance_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(withdrawn_at__isnull=True, withdrawal_reason="")
                | (models.Q(withdrawn_at__isnull=False) & ~models.Q(withdrawal_reason="")),
                name="case_withdrawal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["board", "stage"]),
            models.Index(fields=["stage"]),
            models.Index(fields=["-updated_at"]),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} — {self.patient.full_name}"

    @property
    def missing_referral_fields(self) -> list[str]:
        return [name for name in self.REFERRAL_FIELDS if not str(getattr(self, name) or "").strip()]

    @property
    def is_referral_complete(self) -> bool:
        return not self.missing_referral_fields

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class CaseEventKind(models.TextChoices):
    CREATED = "created", "Case created"
    UPDATED = "updated", "Referral updated"
    TRANSITION = "transition", "Stage changed"
    IMAGING = "imaging", "Imaging added"
    PATHOLOGY = "pathology", "Pathology report"
    AMENDMENT = "amendment", "Pathology amended"
    OPINION = "opinion", "Specialty input"
    AGENDA = "agenda", "Agenda"
    DECISION = "decision", "Decision"
    FOLLOW_UP = "follow_up", "Follow-up"
    WITHDRAWN = "withdrawn", "Case withdrawn"
    MERGED = "merged", "Patient records merged"


class CaseEvent(models.Model):
    """The case timeline: what happened, who did it, and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    summary = models.CharField(max_length=300)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=CaseEventKind.values), name="case_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
