"""Registering patients and cases, and editing the referral."""

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet

from .. import permissions
from ..models import Board, Case, CaseEventKind, Patient, Stage
from ..types import User
from .audit import audit_record, snapshot
from .common import (
    case_event_add,
    check_version,
    field_label,
    lock,
    model_update,
    refuse_unknown,
    require_not_withdrawn,
    save_changes,
    save_validated,
)
from .errors import Conflict
from .plausibility import check_birth_date

PATIENT_FIELDS = ["mrn", "given_name", "family_name", "birth_date", "sex", "comorbidities"]
CASE_FIELDS = [
    "referring_clinician",
    "referring_email",
    "clinical_question",
    "history",
    "key_labs",
    "performance_status",
    "priority",
    "no_pathology_reason",
]


def field_labels(model: type[models.Model], names: Iterable[str]) -> str:
    """The fields as the forms label them: "referring clinician, referring email"."""
    return ", ".join(field_label(model, name) for name in names)


def patient_create(*, board: Board, by: User, **fields: Any) -> Patient:
    permissions.require(by, "patient.create", board.pk)
    refuse_unknown(fields, PATIENT_FIELDS, "patient")
    check_birth_date(fields.get("birth_date"))
    patient = Patient(registered_board=board, created_by=by, **fields)
    with transaction.atomic():
        save_validated(patient)
        audit_record(actor=by, action="patient.create", obj=patient, changes=snapshot(patient, PATIENT_FIELDS))
    return patient


def patient_update(*, patient: Patient, by: User, **fields: Any) -> Patient:
    permissions.require(by, "patient.update", patient.registered_board_id)
    check_birth_date(fields.get("birth_date"))
    with transaction.atomic():
        patient = lock(patient)
        changes = model_update(instance=patient, fields=PATIENT_FIELDS, data=fields)
        if not changes:
            return patient
        save_changes(instance=patient, changes=changes, by=by, action="patient.update")
    return patient


def open_cases(*, patient: Patient, board: Board) -> QuerySet[Case]:
    """The patient's cases on this board that are neither closed nor withdrawn."""
    return Case.objects.filter(patient=patient, board=board, withdrawn_at__isnull=True).exclude(stage=Stage.CLOSED)


def case_create(
    *, patient: Patient, board: Board, by: User, refuse_second_open_case: bool = False, **fields: Any
) -> Case:
    """Register a referral. `refuse_second_open_case`: refuse while the patient has an open case on the board
    (the portal asks the user to confirm that a second case is meant, not a duplicate)."""
    permissions.require(by, "case.create", board.pk)
    refuse_unknown(fields, CASE_FIELDS, "case")
    if patient.is_merged:
        raise Conflict(
            f"This patient record was merged into {patient.merged_into}: register the case there.",
            code="patient_merged",
        )
    case = Case(patient=patient, board=board, created_by=by, **fields)
    with transaction.atomic():
        if refuse_second_open_case:
            # The patient's row orders two registrations at once, so both cannot pass the check.
            lock(patient)
            existing = open_cases(patient=patient, board=board).order_by("created_at").first()
            if existing is not None:
                raise Conflict(
                    f"Case {existing.pk} of this patient is still open on {board.name} "
                    f"({existing.get_stage_display().lower()}). Open it, or tick “This is a second, separate "
                    "question” to register another case.",
                    code="open_case_exists",
                )
        save_validated(case)
        case_event_add(case=case, kind=CaseEventKind.CREATED, summary="Referral registered", actor=by)
        audit_record(actor=by, action="case.create", obj=case, changes=snapshot(case, CASE_FIELDS))
    return case


def case_update(*, case: Case, by: User, expected_version: int | None = None, **fields: Any) -> Case:
    """Edit the referral. Refused when based on an old version: nobody's edit is silently lost."""
    permissions.require(by, "case.update", case.board_id)
    refuse_unknown(fields, CASE_FIELDS, "case")
    with transaction.atomic():
        case = lock(case)
        check_version(case, expected_version, "case")
        require_not_withdrawn(case)
        changes = model_update(instance=case, fields=CASE_FIELDS, data=fields)
        if not changes:
            return case
        save_changes(instance=case, changes=changes, by=by, action="case.update")
        case_event_add(
            case=case, kind=CaseEventKind.UPDATED, summary="Referral updated: " + field_labels(Case, changes), actor=by
        )
    return case
