"""A board's past, made up: months of synthetic cases, meetings, decisions and follow-ups, written in bulk.

The demo loads a quarter of it per board so that board analytics has something to show, and the analytics
bench (bench/analytics.py) a hundred thousand cases. Every name and record number is invented; the rows are
written straight into the tables with their past timestamps (no services, no audit rows: nothing happened).
"""

import random
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import (
    AgendaItem,
    Attendance,
    Board,
    BoardMembership,
    Case,
    Decision,
    DecisionStatus,
    DeviationCode,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    PathologyReport,
    Patient,
    Priority,
    ReportStatus,
    Role,
    Stage,
)

GIVEN = ["Ansel", "Brita", "Corin", "Dagny", "Elio", "Fenna", "Galen", "Hedda", "Ivo", "Jorun", "Kael", "Liv"]
FAMILY = ["Arkwell", "Brenholt", "Castor", "Dunmere", "Elstow", "Farrow", "Greaves", "Holm", "Ivers", "Jarrow"]
BATCH = 5000


@contextmanager
def _past_timestamps(*models):
    """Let bulk_create write the created_at/updated_at it is given (they are auto_now_add/auto_now otherwise)."""
    fields = [f for model in models for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    fields += [f for model in models for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, now, now_add in saved:
            f.auto_now, f.auto_now_add = now, now_add


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _members(board: Board) -> dict:
    rows = BoardMembership.objects.filter(board=board).select_related("user")
    by_role = {}
    for m in rows:
        by_role.setdefault(m.role, []).append(m)
    return by_role


@transaction.atomic
def build_history(*, board: Board, start: date, days: int, cases: int, prefix: str, seed: int = 17) -> int:
    """`cases` cases of `board` registered over `days` days from `start`, carried through meetings to follow-up.

    Returns the number of cases written. Needs the board's coordinator, chair and a pathologist among its members.
    """
    rng = random.Random(seed)
    members = _members(board)
    coordinator = members[Role.COORDINATOR][0].user
    chair = members[Role.CHAIR][0].user
    clinicians = [m for m in members.get(Role.MEMBER, []) + members[Role.CHAIR] if m.specialty]
    pathologist = next(m.user for m in clinicians if m.specialty == "pathology")
    with _past_timestamps(Patient, Case, Meeting, AgendaItem, PathologyReport, Decision, FollowUp):
        meetings = _meetings(board, coordinator, clinicians, start, days, rng)
        case_rows = _cases(board, coordinator, start, days, cases, prefix, rng)
        _records(case_rows, meetings, chair, pathologist, rng)
    return len(case_rows)


def _meetings(board, coordinator, clinicians, start, days, rng) -> list[Meeting]:
    weeks = max(days // 7, 1) + 3  # and a few after the last registration, for the last cases
    rows = [
        Meeting(
            board=board,
            starts_at=_at(start + timedelta(days=7 * w + 6), 16),
            location="Conference room 4B",
            status=MeetingStatus.HELD,
            agenda_published_at=_at(start + timedelta(days=7 * w + 4), 9),
            created_by=coordinator,
            created_at=_at(start + timedelta(days=7 * w), 9),
        )
        for w in range(weeks)
    ]
    meetings = Meeting.objects.bulk_create(rows, batch_size=BATCH)
    attendance = []
    for meeting in meetings:
        recorded = rng.random() > 0.05
        for member in clinicians if recorded else []:
            attendance.append(
                Attendance(meeting=meeting, user=member.user, specialty=member.specialty, present=rng.random() > 0.06)
            )
    Attendance.objects.bulk_create(attendance, batch_size=BATCH)
    return meetings


def _cases(board, coordinator, start, days, count, prefix, rng) -> list[Case]:
    patients = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"{prefix}-{i:06d}",
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                birth_date=date(1940 + rng.randrange(65), rng.randrange(1, 13), rng.randrange(1, 28)),
                sex=rng.choice(["female", "male"]),
                registered_board=board,
                created_by=coordinator,
                created_at=_at(start, 8),
                updated_at=_at(start, 8),
            )
            for i in range(count)
        ],
        batch_size=BATCH,
    )
    rows = []
    for i, patient in enumerate(patients):
        registered = _at(start + timedelta(days=(i * days) // max(count, 1)), 8 + rng.randrange(9))
        rows.append(
            Case(
                patient=patient,
                board=board,
                referring_clinician="Dr. Demo Referrer",
                clinical_question="Synthetic history case: next step?",
                history="Synthetic history for board analytics.",
                priority=Priority.URGENT if rng.random() < 0.2 else Priority.ROUTINE,
                stage=Stage.CLOSED,
                created_by=coordinator,
                created_at=registered,
                updated_at=registered,
            )
        )
    return Case.objects.bulk_create(rows, batch_size=BATCH)


def _records(cases, meetings, chair, pathologist, rng) -> None:
    """Each case's listings, pathology (a quarter amended), signed decision and follow-ups, written in bulk.

    The draws from `rng` come in a fixed order: a change of order changes the whole history."""
    listings, reports, plans = [], [], []
    positions: dict[int, int] = {}
    for case in cases:
        chosen = _chosen_meetings(case, meetings, rng)
        listings += _agenda_items(case, chosen, positions, rng)
        first = _first_report(case, pathologist)
        reports.append(first)
        meeting = chosen[-1]
        plans.append((case, first, meeting.starts_at + timedelta(hours=1), rng.random(), meeting))
    AgendaItem.objects.bulk_create(listings, batch_size=BATCH)
    PathologyReport.objects.bulk_create(reports, batch_size=BATCH)
    amendments = [
        _amendment(case, first, signed, roll, pathologist, rng)
        for case, first, signed, roll, _meeting in plans
        if roll < 0.25
    ]
    amended_by_case = {r.case_id: r for r in PathologyReport.objects.bulk_create(amendments, batch_size=BATCH)}
    decisions = []
    for case, first, signed, _roll, meeting in plans:
        revision = amended_by_case.get(case.pk)
        basis = revision if revision is not None and revision.created_at < signed else first
        decisions.append(_decision(case, meeting, basis, chair, signed, rng))
    decisions = Decision.objects.bulk_create(decisions, batch_size=BATCH)
    FollowUp.objects.bulk_create(_actions(decisions, rng), batch_size=BATCH)


def _chosen_meetings(case, meetings, rng) -> list[Meeting]:
    """The first meeting after the case's wait, and the next one or two when it is deferred."""
    wait = timedelta(days=rng.choice([3, 5, 8, 10, 14, 21]) if case.priority == Priority.ROUTINE else 2)
    index = next((i for i, m in enumerate(meetings) if m.starts_at >= case.created_at + wait), len(meetings) - 1)
    deferrals = 2 if rng.random() < 0.03 else 1 if rng.random() < 0.12 else 0
    return meetings[index : index + deferrals + 1]


def _agenda_items(case, chosen, positions: dict[int, int], rng) -> list[AgendaItem]:
    items = []
    for n, meeting in enumerate(chosen):
        positions[meeting.pk] = positions.get(meeting.pk, 0) + 1
        last = n == len(chosen) - 1
        minutes = rng.choice([5, 10, 10, 15, 20])
        items.append(
            AgendaItem(
                meeting=meeting,
                case=case,
                position=positions[meeting.pk],
                minutes=minutes,
                outcome=Outcome.DISCUSSED if last else Outcome.DEFERRED,
                deferral_reason="" if last else "Awaiting imaging.",
                actual_minutes=max(1, minutes + rng.randrange(-4, 9)) if last and rng.random() < 0.6 else None,
                added_at=meeting.created_at,
            )
        )
    return items


def _first_report(case, pathologist) -> PathologyReport:
    return PathologyReport(
        case=case,
        specimen="Core biopsy",
        procedure="Needle biopsy",
        collected_on=case.created_at.date(),
        diagnosis="Synthetic diagnosis.",
        status=ReportStatus.FINAL,
        pathologist=pathologist,
        signed_out_at=case.created_at + timedelta(hours=2),
        created_at=case.created_at + timedelta(hours=2),
    )


def _amendment(case, first, signed, roll: float, pathologist, rng) -> PathologyReport:
    """Most amendments come before the decision; one in five after it (the decision is then on stale pathology)."""
    when = signed - timedelta(hours=3) if roll < 0.2 else signed + timedelta(days=20)
    return PathologyReport(
        case=case,
        specimen=first.specimen,
        procedure=first.procedure,
        collected_on=first.collected_on,
        diagnosis="Synthetic diagnosis, revised on expert review.",
        status=ReportStatus.AMENDED,
        supersedes=first,
        amendment_reason="Expert review.",
        discrepancy=rng.choice(["major", "major", "minor", "none"]),
        pathologist=pathologist,
        signed_out_at=when,
        created_at=when,
    )


def _decision(case, meeting, basis, chair, signed, rng) -> Decision:
    discordant = rng.random() < 0.12
    considered = rng.random() < 0.4
    eligible = considered and rng.random() < 0.5
    return Decision(
        case=case,
        meeting=meeting,
        consensus_diagnosis="Synthetic consensus.",
        plan=[{"category": "surveillance", "detail": ""}, {"category": "further_imaging", "detail": ""}],
        guideline_concordance="no" if discordant else rng.choice(["yes", "yes", "yes", "not_applicable"]),
        concordance_reason="Comorbidity." if discordant else "",
        trial_considered=considered,
        trial_eligible=eligible if considered else None,
        trial_enrolled=(rng.random() < 0.5) if eligible else None,
        treatment_intent=rng.choice(["curative", "curative", "palliative"]),
        pathology_report=basis,
        status=DecisionStatus.SIGNED,
        recorded_by=chair,
        signed_by=chair,
        signed_at=signed,
        created_at=signed - timedelta(minutes=30),
        updated_at=signed,
    )


def _actions(decisions, rng) -> list[FollowUp]:
    rows, now = [], timezone.now()
    for decision in decisions:
        for category in ("surveillance", "further_imaging"):
            roll = rng.random()
            status, completed, code, reason = FollowUpStatus.PLANNED, None, "", ""
            if roll < 0.72:
                status, completed = (
                    FollowUpStatus.DONE,
                    decision.signed_at + timedelta(days=rng.choice([7, 20, 45, 100])),
                )
            elif roll < 0.84:
                status, completed = FollowUpStatus.DEVIATED, decision.signed_at + timedelta(days=15)
                code = rng.choice(DeviationCode.values)
                reason = "Synthetic reason." if code == DeviationCode.OTHER else ""
            if completed is not None and completed > now:
                status, completed, code, reason = FollowUpStatus.PLANNED, None, "", ""
            rows.append(
                FollowUp(
                    case_id=decision.case_id,
                    decision=decision,
                    kind=FollowUpKind.ACTION,
                    category=category,
                    description=category.replace("_", " ").capitalize(),
                    owner_id=decision.signed_by_id,
                    due_on=(decision.signed_at + timedelta(days=28)).date(),
                    status=status,
                    completed_at=completed,
                    deviation_code=code,
                    deviation_reason=reason,
                    created_at=decision.signed_at,
                )
            )
    return rows


# The demo's past: last quarter's work of each demo board, for its analytics page and quarterly report.
DEMO_HISTORY = {"Sarcoma board": ("HIST-S", 48, 1), "Breast board": ("HIST-B", 36, 2)}


def load_demo_history(*, stdout=None) -> int:
    from .analytics.metrics import current_quarter

    this = current_quarter()
    last = current_quarter(this.start - timedelta(days=1))
    written = 0
    for name, (prefix, count, seed) in DEMO_HISTORY.items():
        board = Board.objects.filter(name=name).first()
        if board is None or Patient.objects.filter(mrn__startswith=f"{prefix}-").exists():
            continue
        written += build_history(
            board=board, start=last.start, days=(last.end - last.start).days - 14, cases=count, prefix=prefix, seed=seed
        )
    if stdout is not None and written:
        stdout.write(f"Board history: {written} synthetic cases of last quarter, {last.label}, for board analytics.")
    return written
