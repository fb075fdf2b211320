"""Pathology reports: add, edit while preliminary, sign out, and amend.

The original report is never overwritten. Amending creates a new report that supersedes it,
with a reason and a discrepancy class; the old one is frozen and stays readable.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import Case, CaseEventKind, Discrepancy, PathologyReport, ReportStatus, Stage
from .audit import audit_record, snapshot
from .common import case_event_add, check_version, lock, model_update, refuse_unknown, save_changes, save_validated
from .errors import Conflict
from .plausibility import check_icdo3, check_record_date
from .workflow import apply_stage_locked

REPORT_FIELDS = ["specimen", "procedure", "collected_on", "diagnosis", "icdo3_code"]
# An amendment of a case already past pathology goes back to the board, closed cases included.
REVISION_STAGES = {Stage.PATHOLOGY, Stage.CONSENSUS, Stage.CLOSED}


def check_report(case: Case, fields: dict) -> None:
    """A specimen is not collected in the future nor before birth; a code is written as ICD-O-3."""
    check_record_date(
        field="collected_on",
        label="collection date",
        day=fields.get("collected_on"),
        birth_date=case.patient.birth_date,
    )
    check_icdo3(fields.get("icdo3_code", ""))


def pathology_report_add(*, case: Case, by, status: str = ReportStatus.PRELIMINARY, **fields) -> PathologyReport:
    permissions.require(by, "pathology.add", case.board_id)
    if status not in (ReportStatus.PRELIMINARY, ReportStatus.FINAL):
        raise ValidationError({"status": "A new report is preliminary or final; amendments supersede a report."})
    check_report(case, fields)
    report = PathologyReport(
        case=case,
        pathologist=by,
        status=status,
        signed_out_at=timezone.now() if status == ReportStatus.FINAL else None,
        **fields,
    )
    with transaction.atomic():
        save_validated(report)
        case_event_add(
            case=case,
            kind=CaseEventKind.PATHOLOGY,
            summary=f"{report.get_status_display()} pathology report added",
            actor=by,
        )
        audit_record(
            actor=by, action="pathology.create", obj=report, changes=snapshot(report, [*REPORT_FIELDS, "status"])
        )
    return report


def pathology_report_update(
    *, report: PathologyReport, by, expected_version: int | None = None, **fields
) -> PathologyReport:
    """Edit a preliminary report; signed-out reports change only by amendment."""
    permissions.require(by, "pathology.add", report.case.board_id)
    refuse_unknown(fields, REPORT_FIELDS, "report")
    check_report(report.case, fields)
    with transaction.atomic():
        report = lock(report)
        check_version(report, expected_version, "pathology report")
        if report.status != ReportStatus.PRELIMINARY:
            raise Conflict("A signed-out report is not edited; amend it instead.", code="report_signed_out")
        changes = model_update(instance=report, fields=REPORT_FIELDS, data=fields)
        if not changes:
            return report
        save_changes(instance=report, changes=changes, by=by, action="pathology.update")
    return report


def pathology_report_sign_out(*, report: PathologyReport, by, expected_version: int | None = None) -> PathologyReport:
    permissions.require(by, "pathology.add", report.case.board_id)
    with transaction.atomic():
        report = lock(report)
        check_version(report, expected_version, "pathology report")
        if report.status != ReportStatus.PRELIMINARY:
            raise Conflict("This report is already signed out.", code="report_signed_out")
        report.status, report.signed_out_at = ReportStatus.FINAL, timezone.now()
        report.version += 1
        report.save(update_fields=["status", "signed_out_at", "version"])
        case_event_add(case=report.case, kind=CaseEventKind.PATHOLOGY, summary="Pathology report signed out", actor=by)
        audit_record(actor=by, action="pathology.sign_out", obj=report, changes={"status": ["preliminary", "final"]})
    return report


def pathology_report_amend(
    *,
    report: PathologyReport,
    by,
    diagnosis: str,
    amendment_reason: str,
    discrepancy: str,
    expected_version: int | None = None,
    **fields,
) -> PathologyReport:
    permissions.require(by, "pathology.amend", report.case.board_id)
    errors = {}
    if not (amendment_reason or "").strip():
        errors["amendment_reason"] = "Say why the report is amended."
    if discrepancy not in Discrepancy.values:
        errors["discrepancy"] = "Choose the discrepancy class: none, minor or major."
    if errors:
        raise ValidationError(errors)
    check_report(report.case, fields)
    with transaction.atomic():
        # Lock the case first, then the report: the same order as every other case write.
        case = lock(report.case)
        report = lock(report)
        check_version(report, expected_version, "pathology report")
        if report.is_superseded:
            raise Conflict("This report has already been amended; amend the current one.", code="report_superseded")
        if report.status == ReportStatus.PRELIMINARY:
            raise Conflict("A preliminary report is edited or signed out, not amended.", code="report_preliminary")
        amended = PathologyReport(
            case=case,
            supersedes=report,
            status=ReportStatus.AMENDED,
            diagnosis=diagnosis,
            amendment_reason=amendment_reason.strip(),
            discrepancy=discrepancy,
            pathologist=by,
            signed_out_at=timezone.now(),
            **{name: fields.get(name, getattr(report, name)) for name in REPORT_FIELDS if name != "diagnosis"},
        )
        save_validated(amended)
        case_event_add(
            case=case,
            kind=CaseEventKind.AMENDMENT,
            summary=f"Pathology amended ({Discrepancy(discrepancy).label.split(' —')[0].lower()} discrepancy)",
            actor=by,
            note=amended.amendment_reason,
        )
        audit_record(
            actor=by,
            action="pathology.amend",
            obj=amended,
            changes={
                "supersedes": report.pk,
                "diagnosis": [report.diagnosis, amended.diagnosis],
                "amendment_reason": amended.amendment_reason,
                "discrepancy": discrepancy,
            },
        )
        if case.stage in REVISION_STAGES:
            apply_stage_locked(
                case=case,
                to=Stage.REVISED_PATHOLOGY,
                by=by,
                note=f"Pathology report amended: {amended.amendment_reason}",
            )
    return amended
