"""Teaching sets: cases prepared for teaching by one member and approved by another.

A teaching copy shows structured fields, random teaching codes instead of any identity, day offsets
instead of dates, and free text only as a person wrote and approved it (TeachingText.text: never
scrubbed again once approved). Images go in only when the preparer confirmed they carry no
burned-in identifiers.
"""

from django.conf import settings
from django.db import models


class TeachingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"


class TeachingSet(models.Model):
    board = models.ForeignKey("cases.Board", on_delete=models.PROTECT, related_name="teaching_sets")
    # The meeting the cases were taken from, when there was one: named on paper by board and year only.
    meeting = models.ForeignKey(
        "cases.Meeting", on_delete=models.PROTECT, null=True, blank=True, related_name="teaching_sets"
    )
    status = models.CharField(max_length=10, choices=TeachingStatus.choices, default=TeachingStatus.DRAFT)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=TeachingStatus.values), name="teaching_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status="draft", approved_by__isnull=True, approved_at__isnull=True)
                | models.Q(status="approved", approved_by__isnull=False, approved_at__isnull=False),
                name="teaching_approval_complete",
            ),
            # The four-eyes rule, held by the database too.
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("prepared_by")),
                name="teaching_approver_is_not_preparer",
            ),
        ]

    def __str__(self) -> str:
        return f"Teaching set {self.pk} ({self.get_status_display()})"

    @property
    def is_approved(self) -> bool:
        return self.status == TeachingStatus.APPROVED


class TeachingCase(models.Model):
    teaching_set = models.ForeignKey(TeachingSet, on_delete=models.CASCADE, related_name="cases")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=8, help_text='Random, e.g. "T-7Q4K"; the only name the case has on paper.')
    position = models.PositiveSmallIntegerField()
    # Names and phrases the system does not hold but the preparer knows (relatives, other scripts):
    # the scrubber looks for them too. One per line.
    other_identifiers = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["teaching_set", "code"], name="teaching_code_unique_in_set"),
            models.UniqueConstraint(fields=["teaching_set", "case"], name="teaching_case_once_per_set"),
        ]

    def __str__(self) -> str:
        return self.code


class TeachingText(models.Model):
    """One free-text field included in the copy, with the text that prints (as edited, as approved)."""

    teaching_case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="texts")
    key = models.CharField(max_length=80, help_text='Which field: e.g. "case.7.history", "imaging.12.findings".')
    text = models.TextField(blank=True)
    edited = models.BooleanField(default=False, help_text="Changed by a person from the scrubber's suggestion.")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["teaching_case", "key"], name="teaching_text_once_per_field")]

    def __str__(self) -> str:
        return self.key


class TeachingImage(models.Model):
    teaching_case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="images")
    key_image = models.ForeignKey("cases.KeyImage", on_delete=models.PROTECT, related_name="+")
    no_burned_in_identifiers = models.BooleanField(
        default=False, help_text="The preparer looked and confirms no name, number or date is drawn in the pixels."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["teaching_case", "key_image"], name="teaching_image_once"),
            models.CheckConstraint(condition=models.Q(no_burned_in_identifiers=True), name="teaching_image_confirmed"),
        ]

    def __str__(self) -> str:
        return f"image {self.key_image_id}"
