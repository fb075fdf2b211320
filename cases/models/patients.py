import unicodedata
from datetime import date

from django.conf import settings
from django.db import models


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


# Letters that carry no combining accent in Unicode, spelled as a person searching would type them.
_FOLDED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})


def name_key(text: str) -> str:
    """Lower case, accents removed, spaces collapsed: how names are compared in search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDED))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.split())


class Patient(models.Model):
    mrn = models.CharField("medical record number", max_length=32, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    comorbidities = models.TextField(blank=True)
    # The name as search compares it: accents and case removed ("Łukasz Müller" → "lukasz muller").
    name_key = models.CharField(max_length=201, blank=True, editable=False, db_index=True)
    # The board whose coordinator registered the patient: it can see the patient before any case exists.
    registered_board = models.ForeignKey("cases.Board", on_delete=models.PROTECT, related_name="registered_patients")
    # A duplicate registration merged into the patient's true record: it stays readable, marked as merged.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_records"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("pk")), name="patient_not_merged_into_itself"
            ),
        ]
        indexes = [models.Index(fields=["family_name", "given_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        self.name_key = name_key(f"{self.given_name} {self.family_name}")
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_key"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def initials(self) -> str:
        return f"{self.given_name[:1]}{self.family_name[:1]}".upper()

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    @property
    def age(self) -> int:
        return self.age_on(date.today())
