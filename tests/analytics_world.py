"""A board's first quarter of 2026, built straight into the database, whose every figure is worked out by
hand in tests/test_analytics.py (and docs/analytics.md's worked example).

Meetings M0 (10 Dec 2025), M1 (10 Jan), M2 (10 Feb, pathology absent), M3 (10 Mar, no attendance recorded),
M4 (20 Mar, cancelled). Cases:

- A routine, registered 1 Jan: discussed at M1 (10 min planned, 12 taken); amended (major) 5 Jan; signed
  11 Jan (10 days); concordant, trial enrolled, curative. Actions: done 31 Jan; deviated (patient's choice).
- B urgent, registered 5 Jan: deferred at M1 and at M2, discussed at M3 (15 min); signed 15 Mar (69 days);
  not concordant, no trial, palliative. Action done 13 Jul (120 days after signing).
- C routine, registered 20 Jan: discussed at M2 (20 min, 30 taken) and again at M3 (10 min, 8 taken);
  decision D1 signed 12 Feb (23 days) on report C1, amended (minor) 20 Feb; D1 superseded by D2 on 25 Feb
  (no guideline applies, curative). D1's action stays planned; D2's: done 1 May; deviated 1 Mar then done 5 Mar.
- D routine, registered 1 Mar: pending at M3; discussed at the cancelled M4.
- E routine, registered 1 Nov 2025: amended (no discrepancy) 1 Dec 2025, discussed at M0, signed 11 Dec
  2025, discussed again at M1. A surveillance visit due 1 Mar, not done.
- B's report was amended (major) on 10 Apr, after the quarter: B's decision rests on superseded pathology, so its
  second action, due 30 Mar and still open, is suspended.
- W routine, registered 12 Jan, withdrawn 28 Mar (registered on the wrong patient): it would touch every
  table but attendance. Discussed at M2 (10 min, 6 taken); report W1 (14 Jan) amended (major) 15 Feb; decision
  signed 11 Feb (30 days) on W1: not concordant, trial considered but not eligible, palliative. Actions: done
  20 Feb; deviated (clinician's preference) 2 Mar; open, due 20 Mar.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cases import models as m
from tests import factories as f

Q1 = (date(2026, 1, 1), date(2026, 3, 31))
TODAY = date(2026, 12, 1)


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class QuarterWorld:
    board: m.Board
    users: dict
    cases: dict
    reports: dict
    decisions: dict


def _case(board, priority, created):
    case = f.CaseFactory(board=board, priority=priority)
    m.Case.objects.filter(pk=case.pk).update(created_at=at(created))
    return case


def _report(case, pathologist, created, *, supersedes=None, discrepancy=""):
    report = f.PathologyReportFactory(
        case=case,
        pathologist=pathologist,
        status=m.ReportStatus.AMENDED if supersedes else m.ReportStatus.FINAL,
        supersedes=supersedes,
        discrepancy=discrepancy,
        amendment_reason="Expert review." if supersedes else "",
        signed_out_at=at(created),
    )
    m.PathologyReport.objects.filter(pk=report.pk).update(created_at=at(created))
    return report


def _decision(case, chair, meeting, signed, report, **fields):
    return f.DecisionFactory(
        case=case,
        meeting=meeting,
        recorded_by=chair,
        status=m.DecisionStatus.SIGNED,
        signed_by=chair,
        signed_at=at(signed),
        pathology_report=report,
        **fields,
    )


def _action(decision, due, *, status="planned", completed=None, code="", reason=""):
    return m.FollowUp.objects.create(
        case=decision.case,
        decision=decision,
        kind=m.FollowUpKind.ACTION,
        category="surveillance",
        description="Plan action",
        due_on=date.fromisoformat(due),
        status=status,
        completed_at=at(completed) if completed else None,
        deviation_code=code,
        deviation_reason=reason,
    )


def _listing(meeting, case, position, outcome, minutes=10, actual=None):
    return m.AgendaItem.objects.create(
        meeting=meeting,
        case=case,
        position=position,
        outcome=outcome,
        minutes=minutes,
        actual_minutes=actual,
        deferral_reason="Awaiting imaging." if outcome == m.Outcome.DEFERRED else "",
    )


def build_quarter() -> QuarterWorld:
    board = f.BoardFactory(
        name="Quality board", quorum_specialties=["radiology", "pathology"], required_specialties=["radiology"]
    )
    users = {
        role: f.MembershipFactory(user=f.UserFactory(username=f"q-{role}"), board=board, role=r, specialty=s).user
        for role, r, s in [
            ("coordinator", m.Role.COORDINATOR, ""),
            ("chair", m.Role.CHAIR, "medical_oncology"),
            ("radiologist", m.Role.MEMBER, "radiology"),
            ("pathologist", m.Role.MEMBER, "pathology"),
            ("orthopaedic", m.Role.MEMBER, "orthopaedic_oncology"),
        ]
    }
    chair, pathologist = users["chair"], users["pathologist"]
    meeting = {
        name: f.MeetingFactory(board=board, starts_at=at(day, 10), status=status, created_by=users["coordinator"])
        for name, day, status in [
            ("M0", "2025-12-10", m.MeetingStatus.HELD),
            ("M1", "2026-01-10", m.MeetingStatus.HELD),
            ("M2", "2026-02-10", m.MeetingStatus.HELD),
            ("M3", "2026-03-10", m.MeetingStatus.HELD),
            ("M4", "2026-03-20", m.MeetingStatus.CANCELLED),
        ]
    }
    for name, absent in [("M1", set()), ("M2", {"pathologist"})]:
        for role, specialty in [
            ("radiologist", "radiology"),
            ("pathologist", "pathology"),
            ("orthopaedic", "orthopaedic_oncology"),
        ]:
            f.AttendanceFactory(
                meeting=meeting[name], user=users[role], specialty=specialty, present=role not in absent
            )

    a = _case(board, "routine", "2026-01-01")
    b = _case(board, "urgent", "2026-01-05")
    c = _case(board, "routine", "2026-01-20")
    d = _case(board, "routine", "2026-03-01")
    e = _case(board, "routine", "2025-11-01")
    w = _case(board, "routine", "2026-01-12")

    reports = {}
    reports["A1"] = _report(a, pathologist, "2025-12-20")
    reports["A2"] = _report(a, pathologist, "2026-01-05", supersedes=reports["A1"], discrepancy="major")
    reports["B1"] = _report(b, pathologist, "2026-01-04")
    reports["C1"] = _report(c, pathologist, "2026-01-25")
    reports["C2"] = _report(c, pathologist, "2026-02-20", supersedes=reports["C1"], discrepancy="minor")
    reports["E1"] = _report(e, pathologist, "2025-11-10")
    reports["E2"] = _report(e, pathologist, "2025-12-01", supersedes=reports["E1"], discrepancy="none")
    reports["B2"] = _report(b, pathologist, "2026-04-10", supersedes=reports["B1"], discrepancy="major")
    reports["W1"] = _report(w, pathologist, "2026-01-14")
    reports["W2"] = _report(w, pathologist, "2026-02-15", supersedes=reports["W1"], discrepancy="major")

    _listing(meeting["M0"], e, 1, "discussed")
    _listing(meeting["M1"], a, 1, "discussed", 10, 12)
    _listing(meeting["M1"], b, 2, "deferred")
    _listing(meeting["M1"], e, 3, "discussed", 10)
    _listing(meeting["M2"], b, 1, "deferred")
    _listing(meeting["M2"], c, 2, "discussed", 20, 30)
    _listing(meeting["M2"], w, 3, "discussed", 10, 6)
    _listing(meeting["M3"], b, 1, "discussed", 15)
    _listing(meeting["M3"], c, 2, "discussed", 10, 8)
    _listing(meeting["M3"], d, 3, "pending")
    _listing(meeting["M4"], d, 1, "discussed")

    decisions = {}
    decisions["E"] = _decision(e, chair, meeting["M0"], "2025-12-11", reports["E2"], guideline_concordance="yes")
    decisions["A"] = _decision(
        a,
        chair,
        meeting["M1"],
        "2026-01-11",
        reports["A2"],
        guideline_concordance="yes",
        trial_considered=True,
        trial_eligible=True,
        trial_enrolled=True,
        treatment_intent="curative",
    )
    decisions["B"] = _decision(
        b,
        chair,
        meeting["M3"],
        "2026-03-15",
        reports["B1"],
        guideline_concordance="no",
        concordance_reason="Frail: the guideline's surgery was declined.",
        trial_considered=False,
        treatment_intent="palliative",
    )
    decisions["D1"] = _decision(
        c,
        chair,
        meeting["M2"],
        "2026-02-12",
        reports["C1"],
        guideline_concordance="yes",
        superseded_at=at("2026-02-25"),
    )
    decisions["D2"] = _decision(
        c,
        chair,
        meeting["M2"],
        "2026-02-25",
        reports["C2"],
        supersedes=decisions["D1"],
        supersede_reason="Pathology amended.",
        guideline_concordance="not_applicable",
        treatment_intent="curative",
    )

    decisions["W"] = _decision(
        w,
        chair,
        meeting["M2"],
        "2026-02-11",
        reports["W1"],
        guideline_concordance="no",
        concordance_reason="Not followed.",
        trial_considered=True,
        trial_eligible=False,
        treatment_intent="palliative",
    )

    _action(decisions["A"], "2026-02-08", status="done", completed="2026-01-31")
    _action(
        decisions["A"],
        "2026-02-08",
        status="deviated",
        completed="2026-02-01",
        code="patient_choice",
        reason="Declined.",
    )
    _action(decisions["B"], "2026-04-12", status="done", completed="2026-07-13")
    _action(decisions["B"], "2026-03-30", status="suspended")
    _action(decisions["D1"], "2026-03-12")
    _action(decisions["D2"], "2026-03-25", status="done", completed="2026-05-01")
    _action(decisions["D2"], "2026-03-25", status="done", completed="2026-03-05", code="other", reason="Postponed.")
    _action(decisions["W"], "2026-03-01", status="done", completed="2026-02-20")
    _action(
        decisions["W"],
        "2026-03-15",
        status="deviated",
        completed="2026-03-02",
        code="clinician_preference",
        reason="Observation preferred.",
    )
    _action(decisions["W"], "2026-03-20")
    for due in ("2026-03-01", "2026-04-15"):
        m.FollowUp.objects.create(
            case=e, kind=m.FollowUpKind.SURVEILLANCE, description="Visit", due_on=date.fromisoformat(due)
        )
    m.Case.objects.filter(pk=w.pk).update(
        withdrawn_at=at("2026-03-28"), withdrawn_by=users["coordinator"], withdrawal_reason="Wrong patient."
    )
    cases = {"A": a, "B": b, "C": c, "D": d, "E": e, "W": w, "meetings": meeting}
    return QuarterWorld(board, users, cases, reports, decisions)
