"""Registering patients and cases, and editing the referral."""

from django.db import transaction

from .. import permissions
from ..models import Board, Case, CaseEventKind, Patient
from .audit import audit_record, diff, snapshot
from .common import case_event_add, check_version, lock, save_validated

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


def patient_create(*, board: Board, by, **fields) -> Patient:
    permissions.require(by, "patient.create", board.pk)
    unknown = set(fields) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown patient fields: {sorted(unknown)}")
    patient = Patient(registered_board=board, created_by=by, **fields)
    with transaction.atomic():
        save_validated(patient)
        audit_record(actor=by, action="patient.create", obj=patient, changes=snapshot(patient, PATIENT_FIELDS))
    return patient


def patient_update(*, patient: Patient, by, **fields) -> Patient:
    permissions.require(by, "patient.update", patient.registered_board_id)
    with transaction.atomic():
        patient = lock(patient)
        before = snapshot(patient, list(fields))
        for name, value in fields.items():
            if name not in PATIENT_FIELDS:
                raise TypeError(f"Unknown patient field: {name}")
            setattr(patient, name, value)
        save_validated(patient)
        audit_record(
            actor=by, action="patient.update", obj=patient, changes=diff(before, snapshot(patient, list(fields)))
        )
    return patient


def case_create(*, patient: Patient, board: Board, by, **fields) -> Case:
    permissions.require(by, "case.create", board.pk)
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown case fields: {sorted(unknown)}")
    case = Case(patient=patient, board=board, created_by=by, **fields)
    with transaction.atomic():
        save_validated(case)
        case_event_add(case=case, kind=CaseEventKind.CREATED, summary="Referral registered", actor=by)
        audit_record(actor=by, action="case.create", obj=case, changes=snapshot(case, CASE_FIELDS))
    return case


def case_update(*, case: Case, by, expected_version: int | None = None, **fields) -> Case:
    """Edit the referral. Refused when based on an old version: nobody's edit is silently lost."""
    permissions.require(by, "case.update", case.board_id)
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown case fields: {sorted(unknown)}")
    with transaction.atomic():
        case = lock(case)
        check_version(case, expected_version, "case")
        before = snapshot(case, list(fields))
        for name, value in fields.items():
            setattr(case, name, value)
        changes = diff(before, snapshot(case, list(fields)))
        if not changes:
            return case
        case.version += 1
        save_validated(case, update_fields=[*changes, "version", "updated_at"])
        case_event_add(
            case=case, kind=CaseEventKind.UPDATED, summary="Referral updated: " + ", ".join(changes), actor=by
        )
        audit_record(actor=by, action="case.update", obj=case, changes=changes)
    return case
