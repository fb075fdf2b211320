"""Coded data: the case's primary diagnosis and comorbidities, TNM staging, codes on pathology
reports, and the site's licensed code lists. Every code is checked by cases.codes."""

from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import codes, permissions
from ..codes import tnm
from ..models import Case, CaseEventKind, CodeConcept, Diagnosis, DiagnosisRole, PathologyReport, TnmStaging
from ..types import User
from .audit import audit_record, diff, snapshot
from .common import case_event_add, check_version, lock, model_update, save_validated

DIAGNOSIS_FIELDS = ["icd10_code", "topography", "morphology", "laterality", "text", "diagnosed_on"]
STAGING_FIELDS = ["kind", "after_therapy", "recurrence", "t", "n", "m", "stage_group", "edition", "staged_on", "note"]


def _checked(checks: Mapping[str, tuple[Callable[[str], codes.Coding], str]]) -> dict[str, codes.Coding]:
    """Run each field's check (a cases.codes function); one ValidationError naming every bad field."""
    results: dict[str, codes.Coding] = {}
    errors: dict[str, str] = {}
    for name, (check, value) in checks.items():
        if not value:
            continue
        try:
            results[name] = check(value)
        except ValidationError as error:
            errors[name] = error.messages[0]
    if errors:
        raise ValidationError(errors)
    return results


def apply_codes(obj: Diagnosis | PathologyReport) -> None:
    """Check the codes an object carries and fill in their displays (ValidationError by field)."""
    found = _checked(
        {
            "icd10_code": (codes.icd10_cm, getattr(obj, "icd10_code", "")),
            "topography": (codes.topography, obj.topography),
            "morphology": (codes.morphology, obj.morphology),
            "laterality": (codes.laterality, obj.laterality),
        }
    )
    for name in ("icd10_code", "topography", "morphology"):
        if name in found:
            setattr(obj, name, found[name].code)
            setattr(obj, name.replace("_code", "") + "_display", found[name].display)
        elif hasattr(obj, name):
            setattr(obj, name.replace("_code", "") + "_display", "")


def apply_legacy_icdo3(report: PathologyReport) -> None:
    """Free text typed as "ICD-O-3": a morphology code moves to its coded field, anything else is flagged."""
    moved, leftover = codes.split_legacy_icdo3(report.icdo3_code)
    if moved and report.morphology and moved != report.morphology:
        # Two morphologies: dropping either would change the report without anyone seeing it.
        raise ValidationError(
            {
                "icdo3_code": f"{moved} is a morphology code, and the morphology field holds {report.morphology}. "
                "Put the code you mean in the morphology field and leave this one empty."
            }
        )
    if moved and not report.morphology:
        report.morphology = moved
    report.icdo3_code = leftover if not moved else ""
    report.icdo3_needs_review = bool(report.icdo3_code)


# Diagnoses -----------------------------------------------------------------------------------


def diagnosis_set_primary(*, case: Case, by: User, expected_version: int | None = None, **fields: Any) -> Diagnosis:
    """Code the case's primary cancer; a second call changes it (the audit trail keeps each value)."""
    permissions.require(by, "coding.record", case.board_id)
    _known(fields, DIAGNOSIS_FIELDS)
    with transaction.atomic():
        lock(case)  # one primary per case: two coders at once queue here
        diagnosis = Diagnosis.objects.filter(case=case, role=DiagnosisRole.PRIMARY).first()
        creating = diagnosis is None
        if diagnosis is None:
            diagnosis = Diagnosis(case=case, role=DiagnosisRole.PRIMARY, recorded_by=by)
        else:
            check_version(diagnosis, expected_version, "primary diagnosis")
        data = {name: "" if value is None and name != "diagnosed_on" else value for name, value in fields.items()}
        before = snapshot(diagnosis, DIAGNOSIS_FIELDS)
        model_update(instance=diagnosis, fields=DIAGNOSIS_FIELDS, data=data)
        apply_codes(diagnosis)  # codes normalised (c40.2 → C40.2): compare after
        changes = diff(before, snapshot(diagnosis, DIAGNOSIS_FIELDS))
        if not creating and not changes:
            return diagnosis
        if not creating:
            diagnosis.version += 1
            diagnosis.recorded_by = by
        save_validated(diagnosis)
        case_event_add(
            case=case, kind=CaseEventKind.UPDATED, summary=f"Primary diagnosis coded: {_label(diagnosis)}", actor=by
        )
        audit_record(actor=by, action="diagnosis.primary", obj=diagnosis, changes=changes)
    return diagnosis


def comorbidity_add(
    *, case: Case, by: User, icd10_code: str, text: str = "", diagnosed_on: date | None = None
) -> Diagnosis:
    permissions.require(by, "coding.record", case.board_id)
    if not (icd10_code or "").strip():
        raise ValidationError({"icd10_code": "Give the comorbidity's ICD-10-CM code."})
    diagnosis = Diagnosis(
        case=case,
        role=DiagnosisRole.COMORBIDITY,
        icd10_code=icd10_code,
        text=text,
        diagnosed_on=diagnosed_on,
        recorded_by=by,
    )
    apply_codes(diagnosis)
    with transaction.atomic():
        save_validated(diagnosis)
        case_event_add(
            case=case, kind=CaseEventKind.UPDATED, summary=f"Comorbidity coded: {_label(diagnosis)}", actor=by
        )
        audit_record(
            actor=by, action="diagnosis.comorbidity_add", obj=diagnosis, changes=snapshot(diagnosis, DIAGNOSIS_FIELDS)
        )
    return diagnosis


def comorbidity_remove(*, diagnosis: Diagnosis, by: User, reason: str) -> None:
    permissions.require(by, "coding.record", diagnosis.case.board_id)
    if diagnosis.role != DiagnosisRole.COMORBIDITY:
        raise ValidationError({"diagnosis": "Only a comorbidity is removed; the primary diagnosis is changed instead."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the comorbidity is removed."})
    with transaction.atomic():
        removed = snapshot(diagnosis, DIAGNOSIS_FIELDS)
        case_event_add(
            case=diagnosis.case,
            kind=CaseEventKind.UPDATED,
            summary=f"Comorbidity removed: {_label(diagnosis)}",
            actor=by,
            note=reason,
        )
        audit_record(
            actor=by, action="diagnosis.comorbidity_remove", obj=diagnosis, changes={**removed, "reason": reason}
        )
        diagnosis.delete()


def _label(diagnosis: Diagnosis) -> str:
    parts = [diagnosis.icd10_code, diagnosis.morphology, diagnosis.topography, diagnosis.text[:80]]
    return " · ".join(part for part in parts if part)


def _known(fields: Collection[str], allowed: list[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")


# Staging -------------------------------------------------------------------------------------


def staging_record(*, case: Case, by: User, **fields: Any) -> TnmStaging:
    """Record a TNM staging. Never an edit: the earlier stagings stay, so the history is complete."""
    permissions.require(by, "coding.record", case.board_id)
    _known(fields, STAGING_FIELDS)
    cleaned = tnm.check_staging(
        kind=fields.get("kind", ""),
        t=fields.get("t", ""),
        n=fields.get("n", ""),
        m=fields.get("m", ""),
        stage_group=fields.get("stage_group", ""),
        edition=fields.get("edition", ""),
    )
    staging = TnmStaging(case=case, recorded_by=by, **{**fields, **cleaned})
    with transaction.atomic():
        save_validated(staging)
        case_event_add(
            case=case,
            kind=CaseEventKind.UPDATED,
            summary=f"TNM staged ({staging.get_kind_display()}): {staging_label(staging)}",
            actor=by,
            note=staging.note,
        )
        audit_record(actor=by, action="staging.record", obj=staging, changes=snapshot(staging, STAGING_FIELDS))
    return staging


def staging_label(staging: TnmStaging) -> str:
    tnm_text = " ".join(filter(None, (staging.category("t"), staging.category("n"), staging.category("m"))))
    group = f"stage {staging.stage_group}" if staging.stage_group else ""
    return ", ".join(filter(None, (tnm_text, group, tnm.EDITIONS[staging.edition])))


# Code lists ----------------------------------------------------------------------------------


def code_list_load(*, list_name: str, rows: list[tuple[str, str]]) -> int:
    """Replace the site's copy of a licensed list (ICD-O-3, WHO ICD-10); every code's format is checked first."""
    if list_name not in codes.SITE_LISTS:
        raise ValidationError(f"Unknown list {list_name!r}; one of {', '.join(codes.SITE_LISTS)}.")
    fmt = {
        codes.ICDO3_TOPOGRAPHY: codes.TOPOGRAPHY_FORMAT,
        codes.ICDO3_MORPHOLOGY: codes.MORPHOLOGY_FORMAT,
        "icd-10": codes.ICD10_FORMAT,
    }[list_name]
    bad = [f"line {number}: {code!r}" for number, (code, _) in enumerate(rows, 1) if not fmt.fullmatch(code)]
    if bad:
        raise ValidationError(f"Not {list_name} codes, nothing loaded: " + "; ".join(bad[:10]))
    if len({code for code, _ in rows}) != len(rows):
        raise ValidationError("A code is listed twice, nothing loaded.")
    with transaction.atomic():
        CodeConcept.objects.filter(list_name=list_name).delete()
        CodeConcept.objects.bulk_create(
            [CodeConcept(list_name=list_name, code=code, display=display[:300]) for code, display in rows],
            batch_size=2000,
        )
        audit_record(
            actor=None,
            action="code_list.load",
            object_type="code_list",
            object_id=list_name,
            changes={"codes": len(rows)},
        )
    return len(rows)
