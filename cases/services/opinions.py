"""Specialty input: each specialty speaks for itself, signed by its author."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import permissions
from ..models import Case, CaseEventKind, Opinion, Stage
from ..types import User
from .audit import audit_record, snapshot
from .common import case_event_add, check_version, lock, model_update, refuse_unknown, save_changes, save_validated
from .errors import Conflict
from .workflow import current_pathology_reports, current_report_ids, current_signed_decision

OPINION_FIELDS = ["assessment", "recommendation"]


def input_is_closed(case: Case) -> bool:
    """Input closes once the decision is signed on the current pathology, or the case is closed."""
    if case.stage == Stage.CLOSED:
        return True
    decision = current_signed_decision(case)
    if decision is None:
        return False
    return decision.pathology_report_id is None or decision.pathology_report_id in {
        r.pk for r in current_pathology_reports(case)
    }


def _refuse_when_closed(case: Case) -> None:
    if input_is_closed(case):
        raise Conflict("The board's decision is signed; specialty input on this case is closed.", code="input_closed")


def opinion_record(*, case: Case, by: User, assessment: str, recommendation: str = "") -> Opinion:
    """Record the input of the author's own specialty on this board."""
    membership = permissions.require(by, "opinion.record", case.board_id)
    with transaction.atomic():
        case = lock(case)
        _refuse_when_closed(case)
        if case.opinions.filter(specialty=membership.specialty, author=by).exists():
            raise Conflict("You have already recorded input on this case; edit it instead.", code="opinion_exists")
        opinion = Opinion(
            case=case,
            specialty=membership.specialty,
            author=by,
            assessment=assessment,
            recommendation=recommendation,
            basis=current_report_ids(case),
        )
        try:
            with transaction.atomic():
                save_validated(opinion)
        except IntegrityError:
            raise Conflict(
                "You have already recorded input on this case; edit it instead.", code="opinion_exists"
            ) from None
        case_event_add(
            case=case, kind=CaseEventKind.OPINION, summary=f"{opinion.get_specialty_display()} input recorded", actor=by
        )
        audit_record(actor=by, action="opinion.create", obj=opinion, changes=snapshot(opinion, OPINION_FIELDS))
    return opinion


def opinion_update(*, opinion: Opinion, by: User, expected_version: int | None = None, **fields: Any) -> Opinion:
    """Only the author edits their input, until the decision is signed; every edit keeps before/after."""
    permissions.require(by, "opinion.record", opinion.case.board_id)
    if opinion.author_id != by.pk:
        raise PermissionDenied("Only the author edits their specialty input.")
    refuse_unknown(fields, OPINION_FIELDS, "opinion")
    with transaction.atomic():
        case = lock(opinion.case)
        opinion = lock(opinion)
        check_version(opinion, expected_version, "specialty input")
        _refuse_when_closed(case)
        changes = model_update(instance=opinion, fields=OPINION_FIELDS, data=fields)
        if not changes:
            return opinion
        # A revision is written on today's pathology: it records the current basis and is no longer stale.
        basis = current_report_ids(case)
        if opinion.basis != basis or opinion.stale_since is not None:
            changes["basis"] = [opinion.basis, basis]
            changes["stale_since"] = [opinion.stale_since, None]
            opinion.basis, opinion.stale_since = basis, None
        save_changes(instance=opinion, changes=changes, by=by, action="opinion.update")
        case_event_add(
            case=case, kind=CaseEventKind.OPINION, summary=f"{opinion.get_specialty_display()} input edited", actor=by
        )
    return opinion


def opinion_confirm(*, opinion: Opinion, by: User, expected_version: int | None = None) -> Opinion:
    """ "My input stands": the author re-confirms an input given on pathology amended since, unchanged."""
    permissions.require(by, "opinion.record", opinion.case.board_id)
    if opinion.author_id != by.pk:
        raise PermissionDenied("Only the author re-confirms their specialty input.")
    with transaction.atomic():
        case = lock(opinion.case)
        opinion = lock(opinion)
        check_version(opinion, expected_version, "specialty input")
        _refuse_when_closed(case)
        if opinion.stale_since is None:
            raise Conflict("This input already rests on the current pathology.", code="opinion_not_stale")
        before = opinion.basis
        opinion.basis, opinion.stale_since = current_report_ids(case), None
        opinion.confirmed_at = timezone.now()
        opinion.version += 1
        opinion.save(update_fields=["basis", "stale_since", "confirmed_at", "version", "updated_at"])
        case_event_add(
            case=case,
            kind=CaseEventKind.OPINION,
            summary=f"{opinion.get_specialty_display()} input re-confirmed on the amended pathology",
            actor=by,
        )
        audit_record(
            actor=by,
            action="opinion.confirm",
            obj=opinion,
            changes={"basis": [before, opinion.basis], "stale": [True, False]},
        )
    return opinion
