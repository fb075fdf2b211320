"""Follow-up: were the board's recommendations carried out, and when is the next visit due."""

import calendar
from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    BoardMembership,
    Case,
    CaseEventKind,
    DeviationCode,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    FollowUpTemplate,
)
from ..types import User
from .audit import audit_record
from .common import (
    case_event_add,
    check_version,
    lock,
    model_update,
    require_board_members,
    save_changes,
    validate_dates,
)
from .errors import Conflict
from .workflow import current_signed_decision

REASSIGN_FIELDS = ["owner", "due_on"]


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# A planned follow-up is done or deviated; a deviated one may still be carried out after all (done),
# keeping its deviation code and reason as history. A done one is final.
CLOSABLE_FROM: dict[str, set[str]] = {
    FollowUpStatus.DONE: {FollowUpStatus.PLANNED, FollowUpStatus.DEVIATED},
    FollowUpStatus.DEVIATED: {FollowUpStatus.PLANNED},
}


def _close(
    *, follow_up: FollowUp, by: User, status: str, reason: str, code: str, expected_version: int | None
) -> FollowUp:
    permissions.require_follow_up_closer(by, follow_up)
    with transaction.atomic():
        follow_up = lock(follow_up)
        check_version(follow_up, expected_version, "follow-up")
        if follow_up.status == FollowUpStatus.SUSPENDED:
            raise Conflict(
                "This follow-up is suspended: the decision it comes from rests on pathology amended since. "
                "It is closed or carried over when the board signs its next decision.",
                code="follow_up_suspended",
            )
        if follow_up.status not in CLOSABLE_FROM[status]:
            raise Conflict(
                f"This follow-up is already {follow_up.get_status_display().lower()}.", code="follow_up_closed"
            )
        previous = follow_up.status
        follow_up.status = status
        if status == FollowUpStatus.DEVIATED:
            follow_up.deviation_reason, follow_up.deviation_code = reason, code
        follow_up.completed_at = timezone.now()
        follow_up.version += 1
        follow_up.save(update_fields=["status", "deviation_reason", "deviation_code", "completed_at", "version"])
        verb = "done" if status == FollowUpStatus.DONE else "deviated"
        case_event_add(
            case=follow_up.case,
            kind=CaseEventKind.FOLLOW_UP,
            summary=f"Follow-up {verb}: {follow_up.description}",
            actor=by,
            note=reason,
        )
        changes = {"status": [previous, status], "reason": reason}
        if status == FollowUpStatus.DEVIATED:
            changes["code"] = code
        audit_record(actor=by, action=f"follow_up.{verb}", obj=follow_up, changes=changes)
    return follow_up


def follow_up_complete(*, follow_up: FollowUp, by: User, expected_version: int | None = None) -> FollowUp:
    """Carried out as recommended (also after a deviation, when the plan was taken up after all)."""
    return _close(
        follow_up=follow_up, by=by, status=FollowUpStatus.DONE, reason="", code="", expected_version=expected_version
    )


def follow_up_deviate(
    *,
    follow_up: FollowUp,
    by: User,
    reason: str = "",
    code: str = DeviationCode.OTHER,
    expected_version: int | None = None,
) -> FollowUp:
    """Not done as recommended, with a coded reason; "other" needs the reason in words."""
    reason = (reason or "").strip()
    if code not in DeviationCode.values:
        raise ValidationError({"deviation_code": "Choose why the recommendation was not carried out."})
    if code == DeviationCode.OTHER and not reason:
        raise ValidationError({"deviation_reason": "Say why the recommendation was not carried out."})
    return _close(
        follow_up=follow_up,
        by=by,
        status=FollowUpStatus.DEVIATED,
        reason=reason,
        code=code,
        expected_version=expected_version,
    )


# Who carries out each part of a plan: the board member whose specialty fits, not the chair by default.
PLAN_SPECIALTIES = {
    "surgery": ["orthopaedic_oncology", "surgical_oncology"],
    "systemic_therapy": ["medical_oncology"],
    "radiotherapy": ["radiation_oncology"],
    "surveillance": ["orthopaedic_oncology", "surgical_oncology", "medical_oncology"],
    "further_imaging": ["radiology", "nuclear_medicine"],
    "biopsy": ["orthopaedic_oncology", "surgical_oncology", "radiology"],
    "clinical_trial": ["medical_oncology"],
    "supportive_care": ["nursing", "medical_oncology"],
}


def plan_owners(
    *, board_id: int, categories: list[str], participants: Iterable[User] = (), fallback: User | None = None
) -> dict[str, User | None]:
    """{category: owner}: a participant of the decision with a fitting specialty, else any member of the
    board with it, else `fallback` (the chair who signs). One query."""
    members = list(
        BoardMembership.objects.filter(board_id=board_id, user__is_active=True)
        .exclude(specialty="")
        .select_related("user")
        .order_by("user_id")
    )
    present = {user.pk for user in participants}
    owners = {}
    for category in categories:
        fitting = [m for s in PLAN_SPECIALTIES.get(category, []) for m in members if m.specialty == s]
        chosen = next((m for m in fitting if m.user_id in present), fitting[0] if fitting else None)
        owners[category] = chosen.user if chosen else fallback
    return owners


def follow_up_reassign(
    *, follow_up: FollowUp, by: User, owner: User | None, due_on: date, expected_version: int | None = None
) -> FollowUp:
    permissions.require(by, "followup.manage", follow_up.case.board_id)
    require_board_members(board_id=follow_up.case.board_id, users=[owner], field="owner")
    validate_dates(due_on=due_on)
    with transaction.atomic():
        follow_up = lock(follow_up)
        check_version(follow_up, expected_version, "follow-up")
        changes = model_update(instance=follow_up, fields=REASSIGN_FIELDS, data={"owner": owner, "due_on": due_on})
        if not changes:
            return follow_up
        save_changes(instance=follow_up, changes=changes, by=by, action="follow_up.update")
    return follow_up


def follow_up_apply_template(
    *, case: Case, template: FollowUpTemplate, by: User, start_on: date, owner: User | None = None
) -> list[FollowUp]:
    """Generate the template's dated surveillance visits from the start of surveillance."""
    permissions.require(by, "followup.manage", case.board_id)
    require_board_members(board_id=case.board_id, users=[owner], field="owner")
    if not template.is_active:
        raise ValidationError({"template": "This schedule template is retired."})
    validate_dates(start_on=start_on)
    with transaction.atomic():
        case = lock(case)
        applied = case.follow_ups.filter(
            template=template, status__in=[FollowUpStatus.PLANNED, FollowUpStatus.SUSPENDED]
        )
        if applied.exists():
            raise Conflict("This schedule is already applied to the case.", code="template_applied")
        # The visits follow from the plan in force: an amendment that puts that plan under review suspends them too.
        in_force = current_signed_decision(case)
        if in_force is not None and in_force.needs_review:
            raise Conflict(
                "The signed decision is under review after a pathology amendment: its follow-up is suspended. "
                "Plan surveillance once the board has decided again.",
                code="decision_under_review",
            )
        visits = FollowUp.objects.bulk_create(
            FollowUp(
                case=case,
                decision=in_force,
                template=template,
                kind=FollowUpKind.SURVEILLANCE,
                category="surveillance",
                description=f"Month {months}: {template.visit_description}"[:500],
                owner=owner,
                due_on=add_months(start_on, months),
            )
            for months in template.visit_months()
        )
        case_event_add(
            case=case,
            kind=CaseEventKind.FOLLOW_UP,
            summary=f"{template.name}: {len(visits)} surveillance visits planned",
            actor=by,
        )
        audit_record(
            actor=by,
            action="follow_up.apply_template",
            obj=case,
            changes={"template": template.code, "start_on": start_on.isoformat(), "visits": len(visits)},
        )
    return visits
