from django.conf import settings
from django.db import models

from .boards import Specialty


class Opinion(models.Model):
    """One specialty's input on a case, signed by its author."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="opinions")
    specialty = models.CharField(max_length=40, choices=Specialty.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessment = models.TextField()
    recommendation = models.TextField(blank=True)
    # Basis: the ids of the pathology reports current when the input was written or last re-confirmed.
    basis = models.JSONField(default=list, blank=True)
    # Set when a report of the basis is amended: the input was given on superseded pathology and does
    # not count for the consensus gate until its author re-confirms or revises it.
    stale_since = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["specialty", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "specialty", "author"], name="opinion_one_per_author_specialty"),
            models.CheckConstraint(condition=models.Q(specialty__in=Specialty.values), name="opinion_specialty_valid"),
        ]

    @property
    def is_stale(self) -> bool:
        return self.stale_since is not None

    def __str__(self) -> str:
        return f"{self.get_specialty_display()} input on case {self.case_id}"
