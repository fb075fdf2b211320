from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .decisions import PlanCategory


def validate_schedule(value) -> None:
    """A schedule is a list of phases: {"every_months": n, "until_month": m}, in increasing order."""
    if not isinstance(value, list) or not value:
        raise ValidationError("A schedule needs at least one phase.")
    previous_end = 0
    for phase in value:
        if not isinstance(phase, dict) or set(phase) != {"every_months", "until_month"}:
            raise ValidationError('Each phase is {"every_months": n, "until_month": m}.')
        every, until = phase["every_months"], phase["until_month"]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (every, until)):
            raise ValidationError("Months are whole numbers.")
        if every < 1 or until <= previous_end or until > 600:
            raise ValidationError("Phases must move forward in time, at least a month apart.")
        previous_end = until


class FollowUpTemplate(models.Model):
    """A surveillance schedule that generates dated visits, e.g. treated osteosarcoma."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    visit_description = models.CharField(max_length=300, help_text="What each visit consists of.")
    schedule = models.JSONField(validators=[validate_schedule])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def visit_months(self) -> list[int]:
        """Months after the start date at which a visit falls, e.g. 3, 6, … 24, 30, … 60, 72, …"""
        months, current = [], 0
        for phase in self.schedule:
            while current + phase["every_months"] <= phase["until_month"]:
                current += phase["every_months"]
                months.append(current)
        return months


class FollowUpKind(models.TextChoices):
    ACTION = "action", "Plan action"
    SURVEILLANCE = "surveillance", "Surveillance visit"


class FollowUpStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    DEVIATED = "deviated", "Deviated"
    # The decision it came from rests on superseded pathology: on hold until the board decides again.
    SUSPENDED = "suspended", "Suspended: decision under review"
    # Closed when the next decision was signed and the chair chose not to carry it over.
    SUPERSEDED = "superseded", "Closed: superseded by a new decision"


class DeviationCode(models.TextChoices):
    """Why a recommendation was not carried out; "other" needs the reason in words."""

    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    PERFORMANCE_STATUS = "performance_status", "Performance status"
    NEW_INFORMATION = "new_information", "New information"
    CLINICIAN_PREFERENCE = "clinician_preference", "Clinician's preference"
    OTHER = "other", "Other"


class FollowUp(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="follow_ups")
    decision = models.ForeignKey(
        "cases.Decision", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    template = models.ForeignKey(
        FollowUpTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    kind = models.CharField(max_length=12, choices=FollowUpKind.choices)
    category = models.CharField(max_length=20, choices=PlanCategory.choices, blank=True)
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.PLANNED)
    deviation_reason = models.TextField(blank=True)
    # Kept when a deviated follow-up is carried out after all (done), as its history.
    deviation_code = models.CharField(max_length=24, choices=DeviationCode.choices, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=FollowUpKind.values), name="follow_up_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=FollowUpStatus.values), name="follow_up_status_valid"),
            models.CheckConstraint(
                condition=models.Q(category__in=[*PlanCategory.values, ""]), name="follow_up_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(deviation_code__in=[*DeviationCode.values, ""]),
                name="follow_up_deviation_code_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="deviated")
                | (~models.Q(deviation_code="") & (~models.Q(deviation_code="other") | ~models.Q(deviation_reason=""))),
                name="follow_up_deviation_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["due_on"], name="follow_up_due_on_idx"),  # board analytics: due in a period
        ]

    def __str__(self) -> str:
        return f"{self.description} (due {self.due_on})"

    def is_overdue_on(self, day) -> bool:
        return self.status == FollowUpStatus.PLANNED and self.due_on < day
