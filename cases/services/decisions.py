"""The board's consensus: record a draft, sign it (chair), correct a signed one by superseding it.

Signing creates a follow-up action for each plan item and tells the referring clinician.
"""

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    AgendaItem,
    Case,
    CaseEventKind,
    Concordance,
    Decision,
    DecisionStatus,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    PlanCategory,
    Stage,
)
from ..models.decisions import QUALITY_FIELDS
from ..types import User
from .audit import audit_record, snapshot
from .common import (
    Changes,
    case_event_add,
    check_version,
    lock,
    model_update,
    refuse_unknown,
    require_board_members,
    save_changes,
    save_validated,
)
from .errors import Conflict, Gate, GatesUnmet
from .followups import plan_owners
from .notify import notify_decision_signed
from .workflow import current_pathology_reports, current_report_ids, current_signed_decision

DECISION_FIELDS = ["consensus_diagnosis", "plan", "rationale", "dissent", *QUALITY_FIELDS]
# What an edit of a draft may change besides its participants: the fields, and the meeting (None: not at one).
DRAFT_FIELDS = ["meeting", *DECISION_FIELDS]
FOLLOW_UP_DAYS = 28


def _check_quality(decision: Decision) -> None:
    """The quality fields hang together: a discordant plan says why; a trial is eligible only if considered."""
    decision.concordance_reason = (decision.concordance_reason or "").strip()
    errors = {}
    if decision.guideline_concordance == Concordance.NO and not decision.concordance_reason:
        errors["concordance_reason"] = "Say why the plan departs from the guideline."
    if decision.trial_eligible is not None and decision.trial_considered is not True:
        errors["trial_eligible"] = "Eligibility is recorded only for a trial that was considered."
    if decision.trial_enrolled is not None and decision.trial_eligible is not True:
        errors["trial_enrolled"] = "Enrolment is recorded only for an eligible patient."
    if errors:
        raise ValidationError(errors)


def _check_meeting(case: Case, meeting: Meeting | None) -> None:
    if meeting is not None and meeting.board_id != case.board_id:
        raise ValidationError({"meeting": "The meeting belongs to another board."})
    if meeting is not None and meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError({"meeting": "The meeting was cancelled: record the decision at another meeting."})


def decision_record(
    *,
    case: Case,
    by: User,
    meeting: Meeting | None = None,
    participants: Collection[User] = (),
    supersedes: Decision | None = None,
    supersede_reason: str = "",
    **fields: Any,
) -> Decision:
    permissions.require(by, "decision.supersede" if supersedes else "decision.record", case.board_id)
    _check_meeting(case, meeting)
    require_board_members(board_id=case.board_id, users=participants, field="participants")
    refuse_unknown(fields, DECISION_FIELDS, "decision")
    with transaction.atomic():
        case = lock(case)
        if case.stage == Stage.CLOSED:
            raise Conflict("The case is closed; reopen it before recording a new decision.", code="case_closed")
        if case.decisions.filter(status=DecisionStatus.DRAFT).exists():
            raise Conflict("This case already has a draft decision; edit or sign it.", code="draft_exists")
        decision = Decision(
            case=case,
            meeting=meeting,
            recorded_by=by,
            supersedes=supersedes,
            supersede_reason=supersede_reason,
            basis=current_report_ids(case),
            **fields,
        )
        _check_quality(decision)
        save_validated(decision)
        decision.participants.set(participants)
        label = "Correction drafted" if supersedes else "Decision drafted"
        case_event_add(case=case, kind=CaseEventKind.DECISION, summary=label, actor=by, note=supersede_reason)
        audit_record(
            actor=by,
            action="decision.create",
            obj=decision,
            changes={
                **snapshot(decision, DECISION_FIELDS),
                "participants": sorted(u.pk for u in participants),
                "supersedes": supersedes.pk if supersedes else None,
            },
        )
    return decision


def decision_update(
    *,
    decision: Decision,
    by: User,
    expected_version: int | None = None,
    participants: Collection[User] | None = None,
    **fields: Any,
) -> Decision:
    """Edit a draft. What is left out stays; `meeting=None` clears the meeting, `participants` replaces them."""
    permissions.require(by, "decision.record", decision.case.board_id)
    refuse_unknown(fields, DRAFT_FIELDS, "decision")
    with transaction.atomic():
        decision = lock(decision)
        check_version(decision, expected_version, "decision")
        if decision.is_signed:
            raise Conflict("A signed decision cannot change; record a correction instead.", code="decision_signed")
        if "meeting" in fields:
            _check_meeting(decision.case, fields["meeting"])
        if participants is not None:
            require_board_members(board_id=decision.case.board_id, users=participants, field="participants")
        changes = model_update(instance=decision, fields=DRAFT_FIELDS, data=fields)
        _check_quality(decision)
        changes |= _participants_change(decision, participants)
        if not changes:
            return decision
        save_changes(instance=decision, changes=changes, by=by, action="decision.update")
        if participants is not None and "participants" in changes:
            decision.participants.set(participants)
    return decision


def _participants_change(decision: Decision, participants: Collection[User] | None) -> Changes:
    if participants is None:
        return {}
    before = sorted(decision.participants.values_list("pk", flat=True))
    after = sorted({user.pk for user in participants})
    return {"participants": [before, after]} if before != after else {}


def decision_correct(
    *,
    decision: Decision,
    by: User,
    reason: str,
    participants: Collection[User] = (),
    meeting: Meeting | None = None,
    **fields: Any,
) -> Decision:
    """Draft a correction of a signed decision; signing it supersedes the original."""
    if not reason.strip():
        raise ValidationError({"supersede_reason": "Say why the signed decision is corrected."})
    if not decision.is_signed or decision.superseded_at is not None:
        raise Conflict("Only the current signed decision can be corrected.", code="decision_not_current")
    return decision_record(
        case=decision.case,
        by=by,
        meeting=meeting or decision.meeting,
        participants=participants,
        supersedes=decision,
        supersede_reason=reason.strip(),
        **fields,
    )


FOLLOW_UP_CHOICES = {"close": "closed as superseded", "carry": "carried over to the new decision"}


def _meeting_gates(meeting: Meeting | None) -> list[Gate]:
    if meeting is None:
        return [Gate("meeting_missing", "A decision is signed at a meeting: choose the meeting.")]
    if meeting.status == MeetingStatus.CANCELLED:
        return [Gate("meeting_cancelled", "The meeting was cancelled: no decision is signed at it.")]
    gates: list[Gate] = []
    if meeting.status == MeetingStatus.SCHEDULED:
        gates.append(
            Gate("meeting_not_in_progress", "A decision is signed at a meeting in progress or held: start it first.")
        )
    if meeting.starts_at > timezone.now():
        gates.append(
            Gate(
                "meeting_not_started",
                f"The meeting starts {timezone.localtime(meeting.starts_at):%d %b %Y %H:%M}: "
                "a decision is signed once it has begun.",
            )
        )
    quorum = meeting.quorum()
    if not quorum.recorded:
        gates.append(Gate("attendance_missing", "Record the meeting's attendance before signing."))
    gates += [
        Gate(f"quorum_not_met:{code}", f"The meeting is not quorate: {label.lower()} is not present.")
        for code, label in zip(quorum.missing, quorum.missing_labels, strict=True)
    ]
    return gates


def _agenda_gates(case: Case, decision: Decision) -> list[Gate]:
    """A decision is signed at a meeting that had the case before it: on its agenda and not deferred from it.

    A correction signed at the meeting of the decision it corrects is that meeting's own (decisions signed before
    this rule may rest on a meeting whose agenda never listed the case)."""
    meeting, corrected = decision.meeting, decision.supersedes
    if meeting is None or (corrected is not None and corrected.meeting_id == meeting.pk):
        return []
    items = list(AgendaItem.objects.filter(meeting=meeting, case=case).values_list("outcome", flat=True))
    if items and any(outcome != Outcome.DEFERRED for outcome in items):
        return []
    if items:
        message = "The case was deferred from that meeting: sign the decision at the meeting it was deferred to."
    elif meeting.status == MeetingStatus.HELD:
        message = "That meeting is over and its agenda never listed the case: choose the meeting that discussed it."
    else:
        message = (
            "The case is not on that meeting's agenda: add it (a late addition), or choose the meeting that "
            "discusses it."
        )
    return [Gate("case_not_on_agenda", message)]


def _signing_gates(case: Case, decision: Decision, suspended_follow_ups: str) -> list[Gate]:
    gates: list[Gate] = []
    if case.stage != Stage.CONSENSUS:
        gates.append(Gate("case_not_in_consensus", "A decision is signed when the case is in consensus."))
    gates += _meeting_gates(decision.meeting)
    gates += _agenda_gates(case, decision)
    current = current_signed_decision(case)
    if current is not None and decision.supersedes_id != current.pk:
        gates.append(
            Gate("decision_already_signed", "The case already has a signed decision; record a correction of it.")
        )
    if suspended_follow_ups not in FOLLOW_UP_CHOICES and any(
        f.status == FollowUpStatus.SUSPENDED for f in case.follow_ups.all()
    ):
        gates.append(
            Gate(
                "suspended_follow_ups_choice",
                "The follow-up of the decision under review is suspended: choose whether it is closed as "
                "superseded or carried over to this decision.",
            )
        )
    return gates


def signing_preview(*, decision: Decision) -> list[Gate]:
    """The gates signing would meet now, for the confirmation page (the follow-up choice is on the page)."""
    case = Case.objects.prefetch_related("follow_ups", "decisions").get(pk=decision.case_id)
    return _signing_gates(case, decision, "close")


def attendance_snapshot(meeting: Meeting) -> list[dict[str, Any]]:
    """Who is present and for which specialty, as attendance says now (kept on the signed decision)."""
    return [
        {
            "user": row.user_id,
            "name": row.user.get_full_name() or row.user.get_username(),
            "specialty": row.specialty,
        }
        for row in meeting.attendance.select_related("user").order_by("specialty", "user__username")
        if row.present
    ]


def decision_sign(
    *, decision: Decision, by: User, expected_version: int | None = None, suspended_follow_ups: str = ""
) -> Decision:
    """The chair signs. `suspended_follow_ups` ("close" or "carry") settles the follow-up of a decision under review."""
    permissions.require(by, "decision.sign", decision.case.board_id)
    with transaction.atomic():
        case = lock(decision.case)
        decision = lock(decision)
        check_version(decision, expected_version, "decision")
        if decision.is_signed:
            raise Conflict("This decision is already signed.", code="decision_signed")
        if decision.meeting is not None:
            # The meeting's status and attendance are read under its lock: neither changes while we sign.
            decision.meeting = lock(decision.meeting)
        unmet = _signing_gates(case, decision, suspended_follow_ups)
        if unmet:
            raise GatesUnmet("The decision cannot be signed yet.", unmet)
        now = timezone.now()
        if decision.supersedes_id:
            # The one change a signed row allows, made before signing so only one is ever current.
            Decision.objects.filter(pk=decision.supersedes_id).update(superseded_at=now)
        current = current_pathology_reports(case)
        decision.pathology_report = current[-1] if current else None
        decision.basis = current_report_ids(case)
        assert decision.meeting is not None  # the gates refuse a decision without a meeting
        decision.attendance_snapshot = attendance_snapshot(decision.meeting)
        decision.status, decision.signed_by, decision.signed_at = DecisionStatus.SIGNED, by, now
        decision.version += 1
        decision.save(
            update_fields=[
                "pathology_report",
                "basis",
                "attendance_snapshot",
                "status",
                "signed_by",
                "signed_at",
                "version",
                "updated_at",
            ]
        )
        # Participants are who was present when it was signed, not who was ticked when the draft was saved.
        decision.participants.set([row["user"] for row in decision.attendance_snapshot])
        settled = _settle_suspended(case=case, decision=decision, choice=suspended_follow_ups, by=by)
        follow_ups = _plan_follow_ups(case=case, decision=decision, owner=by)
        case_event_add(case=case, kind=CaseEventKind.DECISION, summary="Decision signed", actor=by)
        audit_record(
            actor=by,
            action="decision.sign",
            obj=decision,
            changes={
                "status": ["draft", "signed"],
                "follow_ups": [f.pk for f in follow_ups],
                "supersedes": decision.supersedes_id,
                "attendance": decision.attendance_snapshot,
                "basis": decision.basis,
                **({"suspended_follow_ups": {"choice": suspended_follow_ups, "ids": settled}} if settled else {}),
            },
        )
        # E-mailed by a background job after the commit: a failing mail server never undoes a signature.
        notify_decision_signed(case=case, decision=decision)
    return decision


def _settle_suspended(*, case: Case, decision: Decision, choice: str, by: User) -> list[int]:
    ids = list(case.follow_ups.filter(status=FollowUpStatus.SUSPENDED).values_list("pk", flat=True))
    if not ids:
        return []
    rows = FollowUp.objects.filter(pk__in=ids)
    if choice == "close":
        rows.update(status=FollowUpStatus.SUPERSEDED, completed_at=timezone.now())
    else:
        rows.update(status=FollowUpStatus.PLANNED, decision=decision)
    case_event_add(
        case=case,
        kind=CaseEventKind.FOLLOW_UP,
        summary=f"{len(ids)} suspended follow-up {'item' if len(ids) == 1 else 'items'} {FOLLOW_UP_CHOICES[choice]}",
        actor=by,
    )
    return ids


def _plan_follow_ups(*, case: Case, decision: Decision, owner: User) -> list[FollowUp]:
    due = timezone.localdate() + timedelta(days=FOLLOW_UP_DAYS)
    owners = plan_owners(
        board_id=case.board_id,
        categories=[item["category"] for item in decision.plan],
        participants=decision.participants.all(),
        fallback=owner,
    )
    follow_ups = [
        FollowUp(
            case=case,
            decision=decision,
            kind=FollowUpKind.ACTION,
            category=item["category"],
            description=(PlanCategory(item["category"]).label + (f": {item['detail']}" if item.get("detail") else ""))[
                :500
            ],
            owner=owners[item["category"]],
            due_on=due,
        )
        for item in decision.plan
        if item["category"] != PlanCategory.NO_FURTHER_ACTION
    ]
    return FollowUp.objects.bulk_create(follow_ups)
