"""Plausibility checks: input that is valid in form but cannot be true (a birth date next year, a scan in
2099), and the database's own refusals put as sentences a person can act on.
"""

import re
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db.models import Field, Model, UniqueConstraint
from django.utils import timezone

from ..models.dates import is_plausible

OLDEST_AGE_YEARS = 120

# ICD-O-3 as written on a report: morphology (four digits, a slash, the behaviour code) or topography.
# The coded-data work replaces this format check with the shipped code lists.
ICDO3 = re.compile(r"[0-9]{4}/[012369]|C[0-9]{2}(\.[0-9])?")

# Each constraint the models declare, as what to do about it (tests/test_constraint_sentences.py fails
# when a constraint has none). Most are met first by a form or a service; these are the last word.
CONSTRAINT_SENTENCES = {
    # Patients, boards and cases
    "patient_sex_valid": "Choose the patient's sex from the list.",
    "patient_not_merged_into_itself": "A patient record cannot be merged into itself: choose the other record.",
    "membership_one_per_user_and_board": "This person is already a member of this board.",
    "membership_role_valid": "Choose the member's role from the list: coordinator, board member or chair.",
    "membership_specialty_valid": "Choose the member's specialty from the list.",
    "membership_clinician_has_specialty": "A board member or chair speaks for a specialty: choose one.",
    "case_stage_valid": "Choose the case's stage from the list.",
    "case_priority_valid": "Choose the priority: routine or urgent.",
    "case_performance_status_valid": "The performance status is an ECOG grade from 0 to 4.",
    "case_withdrawal_has_reason": "Say why the case is withdrawn.",
    "case_event_kind_valid": "This kind of timeline entry is not known.",
    "referral_intake_identifier_unique": "This referral was already received; open the case it made.",
    # Coded data
    "code_concept_unique": "This code is already in the list.",
    "diagnosis_role_valid": "A diagnosis is the primary cancer or a comorbidity.",
    "diagnosis_laterality_valid": "Choose the side: left, right or both.",
    "diagnosis_one_primary_per_case": "This case already has a primary diagnosis; change that one instead.",
    "diagnosis_says_something": "Give the diagnosis a code or a description.",
    "staging_kind_valid": "Choose whether the staging is clinical or pathological.",
    # Imaging and pathology
    "imaging_modality_valid": "Choose the modality from the list.",
    "imaging_amendment_has_reason": "Say what was wrong with the study.",
    "imaging_addendum_has_text": "Write the addendum.",
    "pathology_status_valid": "A report is preliminary, final or amended.",
    "pathology_discrepancy_valid": "Choose the discrepancy class: none, minor or major.",
    "pathology_amendment_complete": "An amendment needs the report it replaces, a reason and a discrepancy class.",
    "pathology_signed_out_when_final": "A final report needs its sign-out time.",
    # Input, meetings and decisions
    "opinion_one_per_author_specialty": "You have already recorded input for this specialty; edit it instead.",
    "opinion_specialty_valid": "Choose the specialty the input is given for.",
    "meeting_status_valid": "A meeting is scheduled, in progress, held or cancelled.",
    "meeting_has_place_or_link": "Give the meeting a room or a video link, so members know where to go.",
    "agenda_case_once_per_meeting": "This case is already on the agenda of this meeting.",
    "agenda_outcome_valid": "The outcome is pending, discussed or deferred.",
    "agenda_minutes_in_range": "Give the case between 1 and 240 minutes.",
    "agenda_actual_minutes_in_range": "Give the minutes the discussion took, 1 to 240.",
    "agenda_deferral_has_reason": "Say why the case is deferred.",
    "attendance_once_per_user": "This member's attendance is already recorded; change it instead.",
    "attendance_specialty_valid": "A member attends for the specialty of their membership of this board.",
    "decision_status_valid": "A decision is a draft or signed.",
    "decision_signature_complete": "A signed decision needs who signed it and when; a draft has neither.",
    "decision_one_current_signed_per_case": "This case already has a signed decision; correct that one instead.",
    "decision_supersede_has_reason": "Say why the signed decision is corrected.",
    "decision_concordance_valid": "Choose whether the plan follows the guideline: yes, no or not applicable.",
    "decision_discordance_has_reason": "Say why the plan departs from the guideline.",
    "decision_intent_valid": "Choose the intent of treatment: curative or palliative.",
    "decision_trial_eligible_when_considered": "Record whether a trial was considered before whether the "
    "patient is eligible.",
    "decision_trial_enrolled_when_eligible": "A patient is enrolled in a trial only when eligible for it.",
    # Follow-up
    "follow_up_kind_valid": "A follow-up is an action or a surveillance visit.",
    "follow_up_status_valid": "Choose the follow-up's status from the list.",
    "follow_up_category_valid": "Choose the plan category from the list.",
    "follow_up_deviation_code_valid": "Choose why the recommendation was not carried out from the list.",
    "follow_up_deviation_has_reason": "Say why the recommendation was not carried out.",
    # Notifications, sign-in, background work
    "notification_kind_valid": "This kind of notification is not known.",
    "notification_email_status_valid": "This e-mail state is not known.",
    "notification_preference_once": "This notification already has a setting; change that one instead.",
    "notification_delivery_valid": "Choose how to be told: at once or in a daily digest.",
    "identity_link_one_per_subject": "This sign-in account is already linked to a user of Tumor Board.",
    "recovery_code_unique": "This recovery code already exists; make a new set of codes.",
    "idempotency_key_once_per_user": "This form was already sent. Reload the page to see what it made.",
    "job_status_valid": "This state of a background task is not known.",
    # Teaching sets
    "teaching_status_valid": "A teaching set is a draft or approved.",
    "teaching_approval_complete": "An approved teaching set needs who approved it and when; a draft has neither.",
    "teaching_approver_is_not_preparer": "A teaching set is approved by a member other than the one who prepared it.",
    "teaching_code_unique_in_set": "This teaching code is already used in the set; prepare the set again.",
    "teaching_case_once_per_set": "This case is already in the teaching set.",
    "teaching_text_once_per_field": "This text is already in the teaching case; edit it instead.",
    "teaching_image_once": "This image is already in the teaching case.",
    "teaching_image_confirmed": "Confirm that the image shows no name, number or date before including it.",
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


def check_meeting_start(starts_at: datetime | None) -> None:
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
    """The sentence for a database refusal, if it names one of our constraints (as a whole word)."""
    for name in re.findall(r"[a-z0-9_]+", text):
        if name in CONSTRAINT_SENTENCES:
            return CONSTRAINT_SENTENCES[name]
    return ""


def _unique_constraint(model: type[Model] | None, columns: set[str]) -> str:
    """The name of the model's unique constraint over exactly these columns (or fields), or ""."""
    if model is None:  # a refusal that names no model
        return ""
    for constraint in model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint) or not constraint.fields or constraint.condition is not None:
            continue
        # A constraint names fields of its own model (Django's checks refuse anything else).
        fields = [model._meta.get_field(name) for name in constraint.fields]
        if columns in ({f.column for f in fields if isinstance(f, Field)}, set(constraint.fields)):
            return constraint.name
    return ""


def integrity_sentence(model: type[Model], text: str) -> str:
    """The sentence for the database's own refusal of a write to `model`: PostgreSQL names the constraint,
    SQLite names a check but lists a unique constraint's columns ("UNIQUE constraint failed: t.a, t.b")."""
    sentence = constraint_sentence(text)
    if not sentence and "UNIQUE constraint failed:" in text:
        columns = {column.split(".")[-1].strip() for column in text.split(":", 1)[1].split(",")}
        sentence = CONSTRAINT_SENTENCES.get(_unique_constraint(model, columns), "")
    return sentence or next((line for name, line in UNIQUE_SENTENCES.items() if name in text), "")


def _sentence(error: ValidationError, field: str = "") -> str:
    text = error.messages[0]
    if error.code in ("unique", "unique_together") and error.params:
        # Django words a unique field or constraint over fields as "X with this A and B already exists."
        name = _unique_constraint(error.params.get("model_class"), set(error.params.get("unique_check", ())))
        return CONSTRAINT_SENTENCES.get(name) or UNIQUE_SENTENCES.get(field) or text
    return constraint_sentence(text) or text


def readable(error: ValidationError) -> ValidationError:
    """The same refusal, with Django's "Constraint … is violated." and "… already exists." put as what to do."""
    if not hasattr(error, "error_dict"):
        return ValidationError([_sentence(item) for item in error.error_list])
    return ValidationError(
        {field: [_sentence(item, field) for item in items] for field, items in error.error_dict.items()}
    )
