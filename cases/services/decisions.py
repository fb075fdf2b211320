"""The board's consensus: record a draft, sign it (chair), correct a signed one by superseding it.

Signing creates a follow-up action for each plan item and tells the referring clinician.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    Case,
    CaseEventKind,
    Decision,
    DecisionStatus,
    FollowUp,
    FollowUpKind,
    Meeting,
    PlanCategory,
    Stage,
)
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
from .workflow import current_pathology_reports, current_signed_decision

DECISION_FIELDS = ["consensus_diagnosis", "plan", "rationale", "dissent"]
# What an edit of a draft may change besides its participants: the fields, and the meeting (None: not at one).
DRAFT_FIELDS = ["meeting", *DECISION_FIELDS]
FOLLOW_UP_DAYS = 28


def _check_meeting(case: Case, meeting: Meeting | None) -> None:
    if meeting is not None and meeting.board_id != case.board_id:
        raise ValidationError({"meeting": "The meeting belongs to another board."})


def decision_record(
    *,
    case: Case,
    by,
    meeting: Meeting | None = None,
    participants=(),
    supersedes: Decision | None = None,
    supersede_reason: str = "",
    **fields,
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
            **fields,
        )
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
    *, decision: Decision, by, expected_version: int | None = None, participants=None, **fields
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
        changes |= _participants_change(decision, participants)
        if not changes:
            return decision
        save_changes(instance=decision, changes=changes, by=by, action="decision.update")
        if "participants" in changes:
            decision.participants.set(participants)
    return decision


def _participants_change(decision: Decision, participants) -> Changes:
    if participants is None:
        return {}
    before = sorted(decision.participants.values_list("pk", flat=True))
    after = sorted({user.pk for user in participants})
    return {"participants": [before, after]} if before != after else {}


def decision_correct(*, decision: Decision, by, reason: str, participants=(), meeting=None, **fields) -> Decision:
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


def _signing_gates(case: Case, decision: Decision) -> list[Gate]:
    gates = []
    if case.stage != Stage.CONSENSUS:
        gates.append(Gate("case_not_in_consensus", "A decision is signed when the case is in consensus."))
    if decision.meeting is None:
        gates.append(Gate("meeting_missing", "A decision is signed at a meeting: choose the meeting."))
    else:
        quorum = decision.meeting.quorum()
        if not quorum.recorded:
            gates.append(Gate("attendance_missing", "Record the meeting's attendance before signing."))
        gates += [
            Gate(f"quorum_not_met:{code}", f"The meeting is not quorate: {label.lower()} is not present.")
            for code, label in zip(quorum.missing, quorum.missing_labels, strict=True)
        ]
    current = current_signed_decision(case)
    if current is not None and decision.supersedes_id != current.pk:
        gates.append(
            Gate("decision_already_signed", "The case already has a signed decision; record a correction of it.")
        )
    return gates


def decision_sign(*, decision: Decision, by, expected_version: int | None = None) -> Decision:
    permissions.require(by, "decision.sign", decision.case.board_id)
    with transaction.atomic():
        case = lock(decision.case)
        decision = lock(decision)
        check_version(decision, expected_version, "decision")
        if decision.is_signed:
            raise Conflict("This decision is already signed.", code="decision_signed")
        unmet = _signing_gates(case, decision)
        if unmet:
            raise GatesUnmet("The decision cannot be signed yet.", unmet)
        now = timezone.now()
        if decision.supersedes_id:
            # The one change a signed row allows, made before signing so only one is ever current.
            Decision.objects.filter(pk=decision.supersedes_id).update(superseded_at=now)
        current = current_pathology_reports(case)
        decision.pathology_report = current[-1] if current else None
        decision.status, decision.signed_by, decision.signed_at = DecisionStatus.SIGNED, by, now
        decision.version += 1
        decision.save(update_fields=["pathology_report", "status", "signed_by", "signed_at", "version", "updated_at"])
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
            },
        )
        if case.referring_email:
            transaction.on_commit(lambda: _tell_referrer(case, decision))
    return decision


def _plan_follow_ups(*, case: Case, decision: Decision, owner) -> list[FollowUp]:
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


def _tell_referrer(case: Case, decision: Decision) -> None:
    # No clinical content by e-mail: the referrer is told a decision exists and where to read it.
    send_mail(
        subject=f"Tumor board decision signed — case {case.pk}",
        message=(
            f"The {case.board.name} signed its decision on case {case.pk} on "
            f"{timezone.localtime(decision.signed_at):%d %b %Y %H:%M}.\n"
            "Sign in to the tumor board portal to read the consensus and plan."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[case.referring_email],
        fail_silently=True,
    )
