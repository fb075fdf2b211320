"""Plausibility checks: input that is valid in form but cannot be true (a birth date next year, a scan in
2099), and the database's own refusals put as sentences a person can act on.
"""

import re
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models.dates import is_plausible

OLDEST_AGE_YEARS = 120

# ICD-O-3 as written on a report: morphology (four digits, a slash, the behaviour code) or topography.
# The coded-data work replaces this format check with the shipped code lists.
ICDO3 = re.compile(r"[0-9]{4}/[012369]|C[0-9]{2}(\.[0-9])?")

# Each constraint a write can still meet, as what to do about it.
CONSTRAINT_SENTENCES = {
    "meeting_has_place_or_link": "Give the meeting a room or a video link, so members know where to go.",
    "agenda_case_once_per_meeting": "This case is already on the agenda of this meeting.",
    "agenda_minutes_in_range": "Give the case between 1 and 240 minutes.",
    "agenda_deferral_has_reason": "Say why the case is deferred.",
    "attendance_once_per_user": "This member's attendance is already recorded; change it instead.",
    "opinion_one_per_author_specialty": "You have already recorded input for this specialty; edit it instead.",
    "decision_one_current_signed_per_case": "This case already has a signed decision; correct that one instead.",
    "decision_supersede_has_reason": "Say why the signed decision is corrected.",
    "follow_up_deviation_has_reason": "Say why the recommendation was not carried out.",
    "pathology_amendment_complete": "An amendment needs the report it replaces, a reason and a discrepancy class.",
    "pathology_signed_out_when_final": "A final report needs its sign-out time.",
    "imaging_amendment_has_reason": "Say what was wrong with the study.",
    "case_withdrawal_has_reason": "Say why the case is withdrawn.",
    "membership_one_per_user_and_board": "This person is already a member of this board.",
    "idempotency_key_once_per_user": "This form was already sent. Reload the page to see what it made.",
}
UNIQUE_SENTENCES = {
    "mrn": "A patient with this medical record number is already registered. Search the patients to open the record.",
}


def today() -> date:
    return timezone.localdate()


def check_birth_date(birth_date: date | None) -> None:
    if birth_date is None:
        return
    now = today()
    if birth_date > now:
        raise ValidationError({"birth_date": "The birth date is in the future. Check the year."})
    try:
        oldest = now.replace(year=now.year - OLDEST_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = now.replace(year=now.year - OLDEST_AGE_YEARS, day=28)
    if birth_date < oldest:
        raise ValidationError(
            {"birth_date": f"The birth date is more than {OLDEST_AGE_YEARS} years ago. Check the year."}
        )


def check_record_date(*, field: str, label: str, day: date | None, birth_date: date | None) -> None:
    """A study or a specimen: not in the future, not before the patient was born."""
    if day is None:
        return
    if isinstance(day, datetime):
        day = day.date()
    if day > today():
        raise ValidationError({field: f"The {label} is in the future ({day:%d %b %Y}). Check the year."})
    if birth_date is not None and day < birth_date:
        raise ValidationError(
            {field: f"The {label} ({day:%d %b %Y}) is before the patient's birth ({birth_date:%d %b %Y})."}
        )


def check_meeting_start(starts_at) -> None:
    """A new meeting starts today or later: a start in the past is nearly always a slip of the year or month."""
    if starts_at is None or not is_plausible(starts_at):
        return  # outside the calendar a record may hold: save_validated refuses it with its own sentence
    if timezone.localtime(starts_at).date() < today():
        raise ValidationError(
            {"starts_at": f"This start ({timezone.localtime(starts_at):%d %b %Y, %H:%M}) is in the past. "
             "A new meeting starts today or later: check the date."}
        )  # fmt: skip


def check_icdo3(code: str, field: str = "icdo3_code") -> None:
    code = (code or "").strip()
    if code and not ICDO3.fullmatch(code):
        raise ValidationError(
            {field: "This is not an ICD-O-3 code. Write a morphology code such as 9180/3 (four digits, a slash, "
             "the behaviour 0, 1, 2, 3, 6 or 9) or a topography code such as C40.2, or leave it empty."}
        )  # fmt: skip


def constraint_sentence(text: str) -> str:
    """The sentence for a database refusal, if it names one of our constraints or unique fields."""
    for name, sentence in CONSTRAINT_SENTENCES.items():
        if name in text:
            return sentence
    return ""


def readable(error: ValidationError) -> ValidationError:
    """The same refusal with Django's 'Constraint “x” is violated.' replaced by what to do."""
    if not hasattr(error, "error_dict"):
        return ValidationError([constraint_sentence(str(m)) or m for m in error.messages])
    fields = {}
    for field, errors in error.message_dict.items():
        fields[field] = [
            (UNIQUE_SENTENCES.get(field) if "already exists" in text else None) or constraint_sentence(text) or text
            for text in errors
        ]
    return ValidationError(fields)
