"""The case workflow: stages, allowed moves, and the gates each forward move must pass.

intake → imaging → pathology → revised_pathology → consensus → closed

`pathology → consensus` skips revised_pathology when the pathology stands. Any move back to an
earlier stage is allowed with a reason (the board asks for more imaging, a diagnosis changed).
Gates read the case's related rows through `.all()`, so a caller that prefetched them (lists,
dashboards) pays no extra query, and the transition itself reads them fresh under the lock.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from .. import permissions
from ..models import (
    Case,
    CaseEventKind,
    Decision,
    DecisionStatus,
    Opinion,
    PathologyReport,
    ReportStatus,
    Specialty,
    Stage,
)
from ..types import User
from .audit import audit_record
from .common import case_event_add, check_version, field_label, lock, require_not_withdrawn
from .errors import Conflict, Gate, GatesUnmet

ORDER: list[str] = list(Stage.values)

FORWARD: dict[str, tuple[str, ...]] = {
    Stage.INTAKE: (Stage.IMAGING,),
    Stage.IMAGING: (Stage.PATHOLOGY,),
    Stage.PATHOLOGY: (Stage.REVISED_PATHOLOGY, Stage.CONSENSUS),
    Stage.REVISED_PATHOLOGY: (Stage.CONSENSUS,),
    Stage.CONSENSUS: (Stage.CLOSED,),
    Stage.CLOSED: (),
}


def is_back_move(frm: str, to: str) -> bool:
    return ORDER.index(to) < ORDER.index(frm)


def allowed_targets(stage: str) -> list[str]:
    """Forward moves first, then every earlier stage (nearest first)."""
    back = list(reversed(ORDER[: ORDER.index(stage)]))
    return [*FORWARD[stage], *back]


def _label(stage: str) -> str:
    return Stage(stage).label.lower()


# Gates -------------------------------------------------------------------------------------


def current_pathology_reports(case: Case) -> list[PathologyReport]:
    reports = list(case.pathology_reports.all())
    superseded = {r.supersedes_id for r in reports if r.supersedes_id}
    return [r for r in reports if r.pk not in superseded]


def current_report_ids(case: Case) -> list[int]:
    """The basis a new input or decision records: the ids of the case's current pathology reports."""
    return sorted(r.pk for r in current_pathology_reports(case))


def current_signed_decision(case: Case) -> Decision | None:
    signed = [d for d in case.decisions.all() if d.is_signed and d.superseded_at is None]
    return signed[0] if signed else None


def draft_decision(case: Case) -> Decision | None:
    """The case's draft decision (at most one), from the prefetched rows."""
    return next((d for d in case.decisions.all() if d.status == DecisionStatus.DRAFT), None)


def _referral_gates(case: Case) -> list[Gate]:
    return [
        Gate(f"referral_incomplete:{name}", f"intake → imaging needs the referral's {field_label(Case, name)}.")
        for name in case.missing_referral_fields
    ]


def _imaging_gates(case: Case) -> list[Gate]:
    if any(study.impression.strip() for study in case.imaging_studies.all()):
        return []
    return [
        Gate("imaging_impression_missing", "imaging → pathology needs at least one imaging study with an impression.")
    ]


def _revision_gates(case: Case) -> list[Gate]:
    if current_pathology_reports(case):
        return []
    return [Gate("pathology_report_missing", "pathology → revised pathology needs a pathology report to revise.")]


def _consensus_gates(case: Case) -> list[Gate]:
    # An input given on superseded pathology does not count until its author re-confirms or revises it.
    standing: set[str] = set()
    stale: dict[str, list[Opinion]] = {}
    for opinion in case.opinions.all():
        if opinion.stale_since is None:
            standing.add(opinion.specialty)
        else:
            stale.setdefault(opinion.specialty, []).append(opinion)
    gates: list[Gate] = []
    for code in case.board.required_specialties:
        if code in standing:
            continue
        label = Specialty(code).label.lower()
        if code in stale:
            authors = ", ".join(_author(opinion) for opinion in stale[code])
            gates.append(
                Gate(
                    f"input_stale:{code}",
                    f"→ consensus needs {authors} to re-confirm or revise the {label} input: "
                    "it was given on pathology that has since been amended.",
                )
            )
        else:
            gates.append(Gate(f"required_specialty_missing:{code}", f"→ consensus needs input from {label}."))
    if not case.no_pathology_reason.strip():
        current = current_pathology_reports(case)
        if not current or any(r.status == ReportStatus.PRELIMINARY for r in current):
            gates.append(
                Gate(
                    "pathology_not_final",
                    "→ consensus needs a final (or amended) pathology report, or a recorded reason why there is none.",
                )
            )
    return gates


def _author(opinion: Opinion) -> str:
    author = opinion.author
    return author.get_full_name() or author.get_username()


def _closing_gates(case: Case) -> list[Gate]:
    decision = current_signed_decision(case)
    if decision is None:
        return [Gate("decision_not_signed", "consensus → closed needs a signed decision.")]
    # The id, not the row: lists of cases check this gate without a query per case.
    report_id = decision.pathology_report_id
    if report_id is not None and report_id not in {r.pk for r in current_pathology_reports(case)}:
        return [
            Gate(
                "decision_on_superseded_pathology",
                "consensus → closed needs a decision signed on the current pathology; "
                "the signed one was made on a report that has since been amended.",
            )
        ]
    return []


GATES: dict[str, Callable[[Case], list[Gate]]] = {
    Stage.IMAGING: _referral_gates,
    Stage.PATHOLOGY: _imaging_gates,
    Stage.REVISED_PATHOLOGY: _revision_gates,
    Stage.CONSENSUS: _consensus_gates,
    Stage.CLOSED: _closing_gates,
}


def unmet_gates(case: Case, to: str, note: str = "") -> list[Gate]:
    if is_back_move(case.stage, to):
        if note.strip():
            return []
        return [Gate("reason_required", f"A move back to {_label(to)} needs a reason.")]
    return GATES[to](case)


@dataclass(frozen=True)
class Move:
    to: str
    is_back: bool
    unmet: list[Gate]

    @property
    def label(self) -> str:
        return Stage(self.to).label


def next_moves(case: Case) -> list[Move]:
    """Every move the case could make now, each with its unmet gates (back moves need only a reason)."""
    moves = []
    for to in allowed_targets(case.stage):
        back = is_back_move(case.stage, to)
        moves.append(Move(to=to, is_back=back, unmet=[] if back else GATES[to](case)))
    return moves


# The transition ----------------------------------------------------------------------------


def apply_stage_locked(*, case: Case, to: str, by: User, note: str, kind: str = CaseEventKind.TRANSITION) -> Case:
    """Change the stage of a case already locked by the caller, and record it."""
    frm = case.stage
    case.stage = to
    case.version += 1
    case.save(update_fields=["stage", "version", "updated_at"])
    case_event_add(
        case=case,
        kind=kind,
        summary=f"{Stage(frm).label} → {Stage(to).label}",
        actor=by,
        note=note,
        from_stage=frm,
        to_stage=to,
    )
    audit_record(actor=by, action="case.transition", obj=case, changes={"stage": [frm, to], "note": note})
    return case


def case_transition(*, case: Case, to: str, by: User, note: str = "", expected_version: int | None = None) -> Case:
    permissions.require(by, "case.transition", case.board_id)
    if to not in ORDER:
        raise Conflict(f"Unknown stage {to!r}.", code="unknown_stage")
    with transaction.atomic():
        # Lock, then re-check stage and gates: what the user saw may have changed meanwhile.
        case = lock(case)
        check_version(case, expected_version, "case")
        require_not_withdrawn(case)
        if to not in allowed_targets(case.stage):
            # Usually someone moved it meanwhile: say where it is now and what to do.
            raise Conflict(
                f"A case in {_label(case.stage)} cannot move to {_label(to)}. "
                "Reload the case to see where it stands and the moves it can make.",
                code="transition_not_allowed",
            )
        unmet = unmet_gates(case, to, note)
        if unmet:
            raise GatesUnmet(f"The case cannot move from {_label(case.stage)} to {_label(to)}.", unmet)
        return apply_stage_locked(case=case, to=to, by=by, note=note.strip())
