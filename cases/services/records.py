"""Mending registration mistakes: withdraw a case registered by mistake, merge a patient registered twice.

Nothing is deleted. A withdrawn case keeps its history and leaves the worklists; a merged patient record
stays readable, marked as merged, and its cases move to the record that is kept. Each is audited.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import AgendaItem, Case, CaseEventKind, MeetingStatus, Outcome, Patient
from ..types import User
from .audit import audit_record
from .common import case_event_add, check_version, lock
from .errors import Conflict

# Agendas a withdrawn case leaves: meetings that have not taken place, items not yet discussed.
UPCOMING = [MeetingStatus.SCHEDULED]


def case_withdraw(*, case: Case, by: User, reason: str, expected_version: int | None = None) -> Case:
    """Withdraw a case (a duplicate, the wrong patient, a referral sent back): it stays readable."""
    permissions.require(by, "case.withdraw", case.board_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the case is withdrawn, e.g. “Duplicate of case 12”."})
    with transaction.atomic():
        case = lock(case)
        check_version(case, expected_version, "case")
        if case.is_withdrawn:
            raise Conflict(f"Case {case.pk} was already withdrawn.", code="case_withdrawn")
        items = list(
            AgendaItem.objects.select_for_update()
            .filter(case=case, outcome=Outcome.PENDING, meeting__status__in=UPCOMING)
            .select_related("meeting")
        )
        case.withdrawn_at, case.withdrawn_by, case.withdrawal_reason = timezone.now(), by, reason
        case.version += 1
        case.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason", "version", "updated_at"])
        for item in items:
            audit_record(
                actor=by, action="agenda.remove", obj=item, case_id=case.pk, changes={"meeting": item.meeting_id}
            )
            item.delete()
        left = (
            "; taken off the agenda of " + ", ".join(f"{i.meeting.starts_at:%d %b %Y}" for i in items) if items else ""
        )
        case_event_add(case=case, kind=CaseEventKind.WITHDRAWN, summary=f"Case withdrawn{left}", actor=by, note=reason)
        audit_record(
            actor=by,
            action="case.withdraw",
            obj=case,
            changes={"reason": reason, "agenda_items_removed": [i.pk for i in items]},
        )
    return case


@dataclass(frozen=True)
class MergePreview:
    """What a merge would do: the cases that move, and why it cannot happen if it cannot."""

    duplicate: Patient
    keep: Patient
    moving: list[Case]
    problems: list[str]
    differences: list[tuple[str, str, str]]

    @property
    def allowed(self) -> bool:
        return not self.problems


COMPARED = [
    ("mrn", "Medical record number"),
    ("given_name", "Given name"),
    ("family_name", "Family name"),
    ("birth_date", "Birth date"),
    ("sex", "Sex"),
    ("comorbidities", "Comorbidities"),
]


def patient_merge_preview(*, duplicate: Patient, keep: Patient, by: User) -> MergePreview:
    """Read-only: what merging `duplicate` into `keep` moves, and what stands in the way."""
    permissions.require(by, "patient.merge", keep.registered_board_id)
    problems = []
    coordinated = {b for b, m in permissions.memberships_of(by).items() if m.role == permissions.COORDINATOR}
    if duplicate.pk == keep.pk:
        problems.append("Choose two different patient records.")
    if duplicate.is_merged:
        problems.append(f"{duplicate} was already merged into another record.")
    if keep.is_merged:
        problems.append(f"{keep} was itself merged; merge into the record it was merged into.")
    moving = list(Case.objects.filter(patient=duplicate).select_related("board").order_by("created_at", "id"))
    boards = {duplicate.registered_board_id, keep.registered_board_id} | {c.board_id for c in moving}
    if not boards <= coordinated:
        problems.append(
            "One of these records, or a case of the duplicate, belongs to a board you do not coordinate: "
            "ask that board's coordinator to merge them."
        )
    differences = [
        (label, str(getattr(duplicate, name)), str(getattr(keep, name)))
        for name, label in COMPARED
        if getattr(duplicate, name) != getattr(keep, name)
    ]
    return MergePreview(duplicate, keep, moving, problems, differences)


def patient_merge(*, duplicate: Patient, keep: Patient, by: User) -> Patient:
    """Move the duplicate's cases to `keep`; the duplicate stays readable, marked as merged into it."""
    permissions.require(by, "patient.merge", keep.registered_board_id)
    with transaction.atomic():
        # Both rows, in id order so two merges at once cannot deadlock, then re-check under the locks.
        first, second = sorted([duplicate, keep], key=lambda p: p.pk)
        locked = {p.pk: lock(p) for p in (first, second)}
        duplicate, keep = locked.get(duplicate.pk, duplicate), locked.get(keep.pk, keep)
        preview = patient_merge_preview(duplicate=duplicate, keep=keep, by=by)
        if not preview.allowed:
            raise Conflict(" ".join(preview.problems), code="merge_refused")
        moved = [case.pk for case in preview.moving]
        Case.objects.filter(pk__in=moved).update(patient=keep, updated_at=timezone.now())
        duplicate.merged_into, duplicate.merged_at, duplicate.merged_by = keep, timezone.now(), by
        duplicate.save(update_fields=["merged_into", "merged_at", "merged_by", "updated_at"])
        for case in preview.moving:
            case.patient = keep
            case_event_add(
                case=case,
                kind=CaseEventKind.MERGED,
                summary=f"Moved from the duplicate record {duplicate.mrn} to {keep.mrn}",
                actor=by,
            )
        changes = {"merged_into": keep.pk, "cases_moved": moved, "differences": preview.differences}
        audit_record(actor=by, action="patient.merge", obj=duplicate, changes=changes)
        audit_record(actor=by, action="patient.merge_into", obj=keep, changes={"merged_from": duplicate.pk, **changes})
    return keep
