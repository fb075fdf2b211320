from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .boards import Specialty
from .dates import EARLIEST_DATE, LATEST_DATE, is_plausible

OUT_OF_RANGE_YEARS = f"years {EARLIEST_DATE.year} to {LATEST_DATE.year}"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


@dataclass(frozen=True)
class Quorum:
    """Which quorum specialties of the board are present at a meeting, and which are missing."""

    recorded: bool
    present: list[str]
    missing: list[str]

    @property
    def is_met(self) -> bool:
        return self.recorded and not self.missing

    @property
    def present_labels(self) -> list[str]:
        return [Specialty(code).label for code in self.present]

    @property
    def missing_labels(self) -> list[str]:
        return [Specialty(code).label for code in self.missing]


class Meeting(models.Model):
    board = models.ForeignKey("cases.Board", on_delete=models.PROTECT, related_name="meetings")
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    status = models.CharField(max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    agenda_published_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True, help_text="Why the meeting was cancelled.")
    # RFC 5545 SEQUENCE of the meeting's calendar event: raised by every change a calendar shows.
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=MeetingStatus.values), name="meeting_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(location="") | ~models.Q(video_link=""), name="meeting_has_place_or_link"
            ),
        ]
        indexes = [models.Index(fields=["board", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.board} — {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if not is_plausible(self.starts_at):
            raise ValidationError({"starts_at": f"Give the meeting's real date and time ({OUT_OF_RANGE_YEARS})."})

    @property
    def is_published(self) -> bool:
        return self.agenda_published_at is not None

    def quorum(self) -> Quorum:
        """Derived from attendance (uses a prefetched `attendance` when there is one)."""
        rows = list(self.attendance.all())
        here = {row.specialty for row in rows if row.present}
        required = self.board.quorum_specialties
        return Quorum(
            recorded=bool(rows),
            present=[code for code in required if code in here],
            missing=[code for code in required if code not in here],
        )


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    DISCUSSED = "discussed", "Discussed"
    DEFERRED = "deferred", "Deferred"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="agenda_items")
    position = models.PositiveSmallIntegerField()
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    minutes = models.PositiveSmallIntegerField(default=10)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    deferral_reason = models.TextField(blank=True)
    actual_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How long the discussion took, when recorded with the outcome."
    )
    is_late = models.BooleanField(default=False, help_text="Added after the agenda was published.")
    rolled_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rolled_to",
        help_text="The item of an earlier meeting that was deferred to this one.",
    )
    added_at = models.DateTimeField(auto_now_add=True)

    # Not a column: where agenda_item_record_outcome rolled a deferred case (None when no meeting is scheduled yet).
    deferred_to: Meeting | None

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "case"], name="agenda_case_once_per_meeting"),
            models.CheckConstraint(condition=models.Q(outcome__in=Outcome.values), name="agenda_outcome_valid"),
            models.CheckConstraint(
                condition=~models.Q(outcome="deferred") | ~models.Q(deferral_reason=""),
                name="agenda_deferral_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(minutes__gte=1, minutes__lte=240), name="agenda_minutes_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(actual_minutes__isnull=True)
                | models.Q(actual_minutes__gte=1, actual_minutes__lte=240),
                name="agenda_actual_minutes_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. case {self.case_id}"


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    specialty = models.CharField(max_length=40, choices=Specialty.choices, blank=True)
    present = models.BooleanField(default=True)
    recorded_at = models.DateTimeField(auto_now=True)
    # Attendance is frozen once the meeting is held or a decision of it is signed; a later change is a
    # correction with its reason, and a signed decision keeps the snapshot it was signed with.
    correction_reason = models.TextField(blank=True)
    corrected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["specialty", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="attendance_once_per_user"),
            models.CheckConstraint(
                condition=models.Q(specialty__in=[*Specialty.values, ""]), name="attendance_specialty_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.meeting}"
