from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Specialty(models.TextChoices):
    """The fixed set of specialties a board member can hold (docs/architecture.md)."""

    RADIOLOGY = "radiology", "Radiology"
    PATHOLOGY = "pathology", "Pathology"
    ORTHOPAEDIC_ONCOLOGY = "orthopaedic_oncology", "Orthopaedic oncology"
    SURGICAL_ONCOLOGY = "surgical_oncology", "Surgical oncology"
    MEDICAL_ONCOLOGY = "medical_oncology", "Medical oncology"
    RADIATION_ONCOLOGY = "radiation_oncology", "Radiation oncology"
    NEPHROLOGY = "nephrology", "Nephrology"
    NUCLEAR_MEDICINE = "nuclear_medicine", "Nuclear medicine"
    NURSING = "nursing", "Nursing"
    OTHER = "other", "Other"


def validate_specialty_list(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of specialty codes.")
    unknown = [code for code in value if code not in Specialty.values]
    if unknown:
        raise ValidationError(f"Unknown specialty codes: {', '.join(map(str, unknown))}.")
    if len(set(value)) != len(value):
        raise ValidationError("A specialty is listed twice.")


class Board(models.Model):
    name = models.CharField(max_length=120, unique=True)
    tumour_site = models.CharField(max_length=120)
    required_specialties = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_specialty_list],
        help_text="Specialties whose input every case needs before it can reach consensus.",
    )
    quorum_specialties = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_specialty_list],
        help_text="Specialties that must be present for a meeting to be quorate.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def quorum_specialty_labels(self) -> list[str]:
        return [Specialty(code).label for code in self.quorum_specialties]


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Coordinator"
    MEMBER = "member", "Board member"
    CHAIR = "chair", "Chair"


class BoardMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    specialty = models.CharField(
        max_length=40,
        choices=Specialty.choices,
        blank=True,
        help_text="The clinical specialty this member speaks for; may be empty for coordinators.",
    )
    reviews_teaching = models.BooleanField(
        default=False, help_text="May approve teaching sets of this board (never one they prepared)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["board__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "board"], name="membership_one_per_user_and_board"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
            models.CheckConstraint(
                condition=models.Q(specialty__in=[*Specialty.values, ""]), name="membership_specialty_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(role="coordinator") | ~models.Q(specialty=""),
                name="membership_clinician_has_specialty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.board} ({self.get_role_display()})"
