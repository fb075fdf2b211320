"""Pathology reports: add, edit while preliminary, sign out, and amend.

The original report is never overwritten. Amending creates a new report that supersedes it,
with a reason and a discrepancy class; the old one is frozen and stays readable.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    REPORT_FIELDS,
    Case,
    CaseEventKind,
    Decision,
    DecisionStatus,
    Discrepancy,
    FollowUp,
    FollowUpStatus,
    Opinion,
    PathologyReport,
    ReportStatus,
    Stage,
)
from ..types import User
from .audit import audit_record, diff, snapshot
from .coding import apply_codes, apply_legacy_icdo3
from .common import case_event_add, check_version, lock, model_update, refuse_unknown, save_changes, save_validated
from .errors import Conflict
from .notifications import tell_basis_superseded
from .plausibility import check_icdo3, check_record_date
from .workflow import apply_stage_locked

# What the codes decide beside what was sent: titles from the lists, free text moved or flagged.
CODED_DERIVED = ["icdo3_code", "icdo3_needs_review", "morphology", "topography_display", "morphology_display"]
# An amendment of a case already past pathology goes back to the board, closed cases included.
REVISION_STAGES = {Stage.PATHOLOGY, Stage.CONSENSUS, Stage.CLOSED}


def check_report(case: Case, fields: Mapping[str, Any]) -> None:
    """A specimen is not collected in the future nor before birth; a code is written as ICD-O-3."""
    check_record_date(
        field="collected_on",
        label="collection date",
        day=fields.get("collected_on"),
        birth_date=case.patient.birth_date,
    )
    check_icdo3(fields.get("icdo3_code", ""))


def pathology_report_add(
    *, case: Case, by: User, status: str = ReportStatus.PRELIMINARY, **fields: Any
) -> PathologyReport:
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
    _code(report)
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


def _code(report: PathologyReport) -> None:
    apply_legacy_icdo3(report)
    apply_codes(report)


def pathology_report_update(
    *, report: PathologyReport, by: User, expected_version: int | None = None, **fields: Any
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
        derived = snapshot(report, CODED_DERIVED)
        changes = model_update(instance=report, fields=REPORT_FIELDS, data=fields)
        _code(report)
        changes |= diff(derived, snapshot(report, CODED_DERIVED))
        if not changes:
            return report
        save_changes(instance=report, changes=changes, by=by, action="pathology.update")
    return report


def pathology_report_sign_out(
    *, report: PathologyReport, by: User, expected_version: int | None = None
) -> PathologyReport:
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
    by: User,
    diagnosis: str,
    amendment_reason: str,
    discrepancy: str,
    expected_version: int | None = None,
    **fields: Any,
) -> PathologyReport:
    permissions.require(by, "pathology.amend", report.case.board_id)
    errors: dict[str, str] = {}
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
        _code(amended)
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
        _supersede_basis(case=case, report=report, by=by)
        if case.stage in REVISION_STAGES:
            apply_stage_locked(
                case=case,
                to=Stage.REVISED_PATHOLOGY,
                by=by,
                note=f"Pathology report amended: {amended.amendment_reason}",
            )
    return amended


def _rests_on(basis: list[int], report: PathologyReport) -> bool:
    # An input or decision with no recorded basis was written before bases were kept: treat it as resting
    # on what was current then, which the amendment replaces.
    return not basis or report.pk in basis


def _supersede_basis(*, case: Case, report: PathologyReport, by: User) -> None:
    """Inputs and the signed decision written on `report` become stale; the decision's follow-up is suspended."""
    now = timezone.now()
    opinions = [
        o for o in case.opinions.filter(stale_since__isnull=True).select_related("author") if _rests_on(o.basis, report)
    ]
    decisions = [
        d
        for d in case.decisions.filter(
            status=DecisionStatus.SIGNED, superseded_at__isnull=True, stale_since__isnull=True
        )
        if _rests_on(d.basis, report) or d.pathology_report_id == report.pk
    ]
    if not opinions and not decisions:
        return
    Opinion.objects.filter(pk__in=[o.pk for o in opinions]).update(stale_since=now)
    # The one change a signed decision allows besides superseded_at: the flag that it needs review.
    Decision.objects.filter(pk__in=[d.pk for d in decisions]).update(stale_since=now)
    suspended = list(
        FollowUp.objects.filter(decision__in=decisions, status=FollowUpStatus.PLANNED).values_list("pk", flat=True)
    )
    FollowUp.objects.filter(pk__in=suspended).update(status=FollowUpStatus.SUSPENDED)
    if decisions:
        summary = "Signed decision rests on superseded pathology: the board must review it"
    else:
        summary = "Specialty input given on superseded pathology needs re-confirming"
    note = ", ".join(
        f"{o.get_specialty_display()} ({o.author.get_full_name() or o.author.get_username()})" for o in opinions
    )
    case_event_add(case=case, kind=CaseEventKind.AMENDMENT, summary=summary, actor=by, note=note)
    audit_record(
        actor=by,
        action="pathology.basis_superseded",
        obj=case,
        changes={
            "report": report.pk,
            "stale_opinions": [o.pk for o in opinions],
            "decisions_for_review": [d.pk for d in decisions],
            "suspended_follow_ups": suspended,
        },
    )
    # Notifications are rows in this transaction; their e-mail goes out as a job after the commit.
    tell_basis_superseded(case=case, authors=[o.author for o in opinions], decision_flagged=bool(decisions))
