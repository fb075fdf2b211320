"""Registering patients and cases, and editing the referral."""

from django.db import transaction

from .. import permissions
from ..models import Board, Case, CaseEventKind, Patient
from .audit import audit_record, snapshot
from .common import case_event_add, check_version, lock, model_update, refuse_unknown, save_changes, save_validated

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
    refuse_unknown(fields, PATIENT_FIELDS, "patient")
    patient = Patient(registered_board=board, created_by=by, **fields)
    with transaction.atomic():
        save_validated(patient)
        audit_record(actor=by, action="patient.create", obj=patient, changes=snapshot(patient, PATIENT_FIELDS))
    return patient


def patient_update(*, patient: Patient, by, **fields) -> Patient:
    permissions.require(by, "patient.update", patient.registered_board_id)
    with transaction.atomic():
        patient = lock(patient)
        changes = model_update(instance=patient, fields=PATIENT_FIELDS, data=fields)
        if not changes:
            return patient
        save_changes(instance=patient, changes=changes, by=by, action="patient.update")
    return patient


def case_create(*, patient: Patient, board: Board, by, **fields) -> Case:
    permissions.require(by, "case.create", board.pk)
    refuse_unknown(fields, CASE_FIELDS, "case")
    case = Case(patient=patient, board=board, created_by=by, **fields)
    with transaction.atomic():
        save_validated(case)
        case_event_add(case=case, kind=CaseEventKind.CREATED, summary="Referral registered", actor=by)
        audit_record(actor=by, action="case.create", obj=case, changes=snapshot(case, CASE_FIELDS))
    return case


def case_update(*, case: Case, by, expected_version: int | None = None, **fields) -> Case:
    """Edit the referral. Refused when based on an old version: nobody's edit is silently lost."""
    permissions.require(by, "case.update", case.board_id)
    refuse_unknown(fields, CASE_FIELDS, "case")
    with transaction.atomic():
        case = lock(case)
        check_version(case, expected_version, "case")
        changes = model_update(instance=case, fields=CASE_FIELDS, data=fields)
        if not changes:
            return case
        save_changes(instance=case, changes=changes, by=by, action="case.update")
        case_event_add(
            case=case, kind=CaseEventKind.UPDATED, summary="Referral updated: " + ", ".join(changes), actor=by
        )
    return case
