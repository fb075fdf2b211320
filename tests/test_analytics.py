"""Every figure of docs/analytics.md against values worked out by hand for tests/analytics_world.py."""

from datetime import date

import pytest

from cases import models as m
from cases.analytics import metrics
from cases.analytics.metrics import Period, board_report, discordance_register, percentile
from tests import factories as f
from tests.analytics_world import Q1, TODAY, build_quarter

PERIOD = Period(*Q1)


@pytest.fixture
def quarter(db):
    return build_quarter()


def figures(report, table) -> dict:
    return {fig.key: (fig.numerator, fig.denominator) for fig in report.table(table).figures}


def values(report, table) -> dict:
    return {fig.key: None if fig.value is None else round(fig.value, 4) for fig in report.table(table).figures}


@pytest.fixture(params=["portable", "percentile_cont"])
def engine(request):
    if request.param == "percentile_cont":
        request.getfixturevalue("postgres_only")
    return request.param == "percentile_cont"


def test_referral_to_signed_decision_median_and_p90_overall_and_by_priority(quarter, engine):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY, use_percentile_cont=engine)
    # First decisions signed in Q1: A 10 days, C 23 days (D1; its correction D2 does not restart the clock),
    # B 69 days (urgent; deferred twice on the way). E was decided in December.
    assert values(report, "time_to_decision") == {
        "all_median": 23.0,
        "all_p90": 59.8,  # 23 + (69 − 23) × 0.8
        "routine_median": 16.5,
        "routine_p90": 21.7,  # 10 + 13 × 0.9
        "urgent_median": 69.0,
        "urgent_p90": 69.0,
    }
    assert {key: n for key, (_, n) in figures(report, "time_to_decision").items()} == {
        "all_median": 3,
        "all_p90": 3,
        "routine_median": 2,
        "routine_p90": 2,
        "urgent_median": 1,
        "urgent_p90": 1,
    }
    assert report.percentile_engine == ("percentile_cont" if engine else "portable")


def test_meeting_figures(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    assert figures(report, "meetings") == {
        "meetings": (3, None),  # M1, M2, M3; M4 was cancelled, M0 is December's
        "cases_per_meeting": (8, 3),  # a case deferred twice is listed three times
        "planned_minutes_per_case": (65, 5),  # 10 + 10 + 20 + 15 + 10 over the five discussions
        "planned_minutes_per_timed_case": (40, 3),
        "actual_minutes_per_case": (50, 3),  # 12 + 30 + 8 where recorded
        "deferral_rate": (2, 7),  # B at M1 and M2; D's listing is still pending
        "rediscussion_rate": (2, 4),  # E (first at M0) and C (M2, again at M3) of A, B, C, E
        "quorum_failed": (1, 2),  # M2 (pathology absent) of the two with attendance; M3 has none
    }
    assert values(report, "meetings")["cases_per_meeting"] == 2.6667
    assert values(report, "meetings")["actual_minutes_per_case"] == 16.6667


def test_attendance_by_specialty(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    assert figures(report, "attendance") == {
        "radiology": (2, 2),
        "pathology": (1, 2),
        "orthopaedic_oncology": (2, 2),
    }


def test_pathology_figures(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    # Read as of the report's day: B's amendment of 10 April counts for the quarter's discussions and decisions.
    assert figures(report, "pathology") == {
        "amended_any": (4, 4),  # of A, B, C, E discussed in Q1: A and B (major), C (minor), E (no discrepancy)
        "amended_major": (2, 4),
        "amended_minor": (1, 4),
        "amended_none": (1, 4),
        "decisions_on_superseded": (2, 4),  # D1 on C1 (amended eight days later), B's on B1; of A, B, D1, D2
    }


def test_the_discordance_register_lists_the_periods_amendments(quarter):
    # Not B2 (April), nor W2 (its case is withdrawn).
    rows = list(discordance_register(board=quarter.board, period=PERIOD))
    assert [(r.pk, r.supersedes_id, r.discrepancy, r.decided_on_original) for r in rows] == [
        (quarter.reports["C2"].pk, quarter.reports["C1"].pk, "minor", True),
        (quarter.reports["A2"].pk, quarter.reports["A1"].pk, "major", False),
    ]


def test_implementation_of_planned_actions(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    # The standing decisions of Q1 are A, B and D2 (D1 was superseded, W's case withdrawn): five actions, B's
    # suspended one left out.
    assert figures(report, "implementation") == {
        "done_within_30": (2, 5),  # A's first; D2's deviated-then-done one (8 days)
        "done_within_90": (3, 5),  # and D2's first (65 days)
        "done_within_180": (4, 5),  # and B's (120 days); A's deviated one never
        "overdue": (2, 5),  # due in Q1: D2's first (done only in May) and E's visit; D1's action is replaced
    }


def every_figure(quarter) -> dict:
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    return {(t.key, fig.key): (fig.numerator, fig.denominator) for t in report.tables for fig in t.figures}


def changed_figures(before: dict, after: dict) -> dict:
    return {key: value for key, value in after.items() if before[key] != value}


def test_a_withdrawn_case_leaves_every_cohort(quarter):
    """W is withdrawn: every figure above holds without it. Were it not, these (and only these) would change."""
    withdrawn = every_figure(quarter)
    m.Case.objects.filter(pk=quarter.cases["W"].pk).update(withdrawn_at=None, withdrawn_by=None, withdrawal_reason="")
    assert changed_figures(withdrawn, every_figure(quarter)) == {
        # W's first decision took 30 days: all 10, 23, 30, 69; routine 10, 23, 30.
        ("time_to_decision", "all_median"): (None, 4),
        ("time_to_decision", "all_p90"): (None, 4),
        ("time_to_decision", "routine_median"): (None, 3),
        ("time_to_decision", "routine_p90"): (None, 3),
        ("meetings", "cases_per_meeting"): (9, 3),
        ("meetings", "planned_minutes_per_case"): (75, 6),
        ("meetings", "planned_minutes_per_timed_case"): (50, 4),
        ("meetings", "actual_minutes_per_case"): (56, 4),
        ("meetings", "deferral_rate"): (2, 8),
        ("meetings", "rediscussion_rate"): (2, 5),
        ("pathology", "amended_any"): (5, 5),
        ("pathology", "amended_major"): (3, 5),
        ("pathology", "amended_minor"): (1, 5),
        ("pathology", "amended_none"): (1, 5),
        ("pathology", "decisions_on_superseded"): (3, 5),
        ("implementation", "done_within_30"): (3, 8),  # W's done in 9 days
        ("implementation", "done_within_90"): (4, 8),
        ("implementation", "done_within_180"): (5, 8),
        ("implementation", "overdue"): (3, 8),  # W's three were due in March, the last one still open
        ("deviations", "patient_choice"): (1, 2),
        ("deviations", "performance_status"): (0, 2),
        ("deviations", "new_information"): (0, 2),
        ("deviations", "clinician_preference"): (1, 2),
        ("deviations", "other"): (0, 2),
        ("decision_quality", "concordance_recorded"): (4, 4),
        ("decision_quality", "concordant"): (1, 3),
        ("decision_quality", "not_applicable"): (1, 4),
        ("decision_quality", "trial_considered"): (2, 3),
        ("decision_quality", "trial_eligible"): (1, 2),
        ("decision_quality", "curative"): (2, 4),
    }
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    assert values(report, "time_to_decision") == {
        "all_median": 26.5,  # 23 + (30 − 23) × 0.5
        "all_p90": 57.3,  # 30 + (69 − 30) × 0.7
        "routine_median": 23.0,
        "routine_p90": 28.6,  # 23 + (30 − 23) × 0.8
        "urgent_median": 69.0,
        "urgent_p90": 69.0,
    }
    register = discordance_register(board=quarter.board, period=PERIOD)
    assert [r.pk for r in register] == [quarter.reports[k].pk for k in ("C2", "W2", "A2")]


def test_a_suspended_follow_up_is_neither_done_nor_deviated_nor_overdue(quarter):
    """B's second action is suspended (B's pathology was amended in April): left out of the implementation and
    overdue denominators. Were it still planned, it would be one more action not done, and one more overdue."""
    suspended = m.FollowUp.objects.get(decision=quarter.decisions["B"], status="suspended")
    assert suspended.due_on == date(2026, 3, 30)
    before = every_figure(quarter)
    m.FollowUp.objects.filter(pk=suspended.pk).update(status="planned")
    assert changed_figures(before, every_figure(quarter)) == {
        ("implementation", "done_within_30"): (2, 6),
        ("implementation", "done_within_90"): (3, 6),
        ("implementation", "done_within_180"): (4, 6),
        ("implementation", "overdue"): (3, 6),
    }


def test_implementation_counts_only_windows_that_have_passed(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=date(2026, 4, 5))
    # At the end of 5 April only A (11 Jan) and D2 (25 Feb) are 30 days past, not B (15 Mar); none is 90 days past.
    assert figures(report, "implementation")["done_within_30"] == (2, 4)
    assert figures(report, "implementation")["done_within_90"] == (0, 0)
    assert values(report, "implementation")["done_within_90"] is None


def test_deviations_by_coded_reason(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    # D2's deviation was carried out after all: it counts as done, not as a deviation.
    assert figures(report, "deviations") == {
        "patient_choice": (1, 1),
        "performance_status": (0, 1),
        "new_information": (0, 1),
        "clinician_preference": (0, 1),
        "other": (0, 1),
    }


def test_decision_quality_fields(quarter):
    report = board_report(board=quarter.board, period=PERIOD, today=TODAY)
    assert figures(report, "decision_quality") == {
        "concordance_recorded": (3, 3),
        "concordant": (1, 2),  # A yes, B no; D2 has no guideline
        "not_applicable": (1, 3),
        "trial_considered": (1, 2),  # A considered, B not; D2 not recorded
        "trial_eligible": (1, 1),
        "trial_enrolled": (1, 1),
        "curative": (2, 3),
    }


def test_a_board_with_no_cases_has_empty_figures_not_errors(db, engine):
    empty = f.BoardFactory(name="Empty board")
    report = board_report(board=empty, period=PERIOD, today=TODAY, use_percentile_cont=engine)
    for table in report.tables:
        for figure in table.figures:
            assert figure.numerator in (0, None) and figure.denominator in (0, None), (table.key, figure)
            assert figure.value in (None, 0), (table.key, figure)
            assert figure.shown in ("—", "0")
    assert report.as_json()["tables"][0]["figures"][0] == {
        "key": "all_median",
        "label": "All cases: median",
        "unit": "days",
        "numerator": None,
        "denominator": 0,
        "value": None,
    }


def test_another_boards_records_never_count(quarter):
    other = build_other_board_copy()
    assert figures(board_report(board=quarter.board, period=PERIOD, today=TODAY), "meetings")["meetings"] == (3, None)
    assert figures(board_report(board=other, period=PERIOD, today=TODAY), "meetings")["meetings"] == (1, None)


def build_other_board_copy():
    other = f.BoardFactory(name="Other board")
    f.MeetingFactory(board=other, starts_at=metrics.Period(*Q1).bounds()[0])
    return other


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert round(percentile([10.0, 23.0, 69.0], 0.9), 6) == 59.8


def test_periods_name_their_quarter():
    assert metrics.current_quarter(date(2026, 5, 17)) == Period(date(2026, 4, 1), date(2026, 6, 30))
    assert Period(date(2026, 1, 1), date(2026, 3, 31)).label.startswith("Q1 2026")
    assert Period(date(2026, 1, 1), date(2026, 1, 31)).label == "01 Jan 2026 – 31 Jan 2026"


def test_the_report_costs_the_same_queries_for_a_few_rows_or_many(quarter, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            board_report(board=quarter.board, period=PERIOD, today=TODAY)
        return len(captured)

    few = count()
    for _ in range(3):
        build_quarter_copy(quarter)
    assert count() == few
    with django_assert_num_queries(few):
        board_report(board=quarter.board, period=PERIOD, today=TODAY)
    assert few == (15 if connection.vendor == "postgresql" else 11)


def build_quarter_copy(quarter):
    """More of everything on the same board: cases listed, decided, amended and followed up."""
    from tests.analytics_world import _action, _case, _decision, _listing, _report

    meeting = quarter.cases["meetings"]["M2"]
    for priority in ("routine", "urgent"):
        case = _case(quarter.board, priority, "2026-01-15")
        report = _report(case, quarter.users["pathologist"], "2026-01-16")
        _report(case, quarter.users["pathologist"], "2026-01-17", supersedes=report, discrepancy="major")
        _listing(meeting, case, meeting.agenda_items.count() + 1, "discussed", 10, 9)
        decision = _decision(case, quarter.users["chair"], meeting, "2026-02-11", report, guideline_concordance="yes")
        _action(decision, "2026-03-11", status="deviated", completed="2026-03-01", code="new_information")
