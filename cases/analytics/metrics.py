"""The figures of one board over one period, each a numerator over a denominator (docs/analytics.md).

Every figure is a database aggregate: the report costs the same small number of queries whether the
board has ten cases or a hundred thousand. Medians and 90th percentiles use PostgreSQL's
`percentile_cont`; on other databases the durations come back in one query and are interpolated the
same way here.

Records of states other helpers may add are handled by value, so this module works before and after
they land: a withdrawn case (stage or `withdrawn_at`) leaves every cohort; a suspended follow-up is
neither implemented, nor deviated, nor overdue; a cancelled meeting holds no cases.
"""

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from ..models import (
    AgendaItem,
    Attendance,
    Board,
    Case,
    Concordance,
    Decision,
    DecisionStatus,
    DeviationCode,
    Discrepancy,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Meeting,
    MeetingStatus,
    Outcome,
    PathologyReport,
    Priority,
    ReportStatus,
    Specialty,
    TreatmentIntent,
)
from ..models.dates import EARLIEST_DATE, LATEST_DATE, is_plausible

IMPLEMENTATION_DAYS = (30, 90, 180)
# States added elsewhere (issues 10 and 13), matched by value so that they count right once present.
WITHDRAWN, SUSPENDED = "withdrawn", "suspended"
SHARE, DAYS, MINUTES, COUNT, RATIO = "share", "days", "minutes", "count", "per meeting"


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (linear interpolation), over a duration."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The same interpolation as percentile_cont: position (n − 1)·p between the two nearest values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# The report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def label(self) -> str:
        quarter = (self.start.month - 1) // 3 + 1
        if self.start == quarter_start(self.start) and self.end == quarter_end(self.start):
            return f"Q{quarter} {self.start.year} ({self.start:%d %b %Y} – {self.end:%d %b %Y})"
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in the server's time zone."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    start = quarter_start(day)
    month = start.month + 2
    return date(start.year, month, calendar.monthrange(start.year, month)[1])


def current_quarter(today: date | None = None) -> Period:
    today = today or timezone.localdate()
    return Period(quarter_start(today), quarter_end(today))


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    numerator: float | int | None
    denominator: int | None
    value: float | None = None

    def __post_init__(self):
        if self.value is None and self.unit in (SHARE, RATIO, MINUTES) and self.denominator:
            self.value = self.numerator / self.denominator

    @property
    def shown(self) -> str:
        """The value as a person reads it: 42.9 %, 3.5 days, 12.0 minutes; — when there is nothing to count."""
        if self.value is None:
            return "—"
        if self.unit == SHARE:
            return f"{100 * self.value:.1f} %"
        if self.unit == COUNT:
            return f"{self.value:g}"
        return f"{self.value:.1f} {self.unit}"

    def as_json(self) -> dict:
        value = self.value
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": None if value is None else round(value, 4),
        }


@dataclass
class Table:
    key: str
    title: str
    definition: str
    figures: list[Figure]
    chart_unit: str = SHARE  # which figures the chart draws (one scale per chart)

    @property
    def charted(self) -> list[Figure]:
        return [figure for figure in self.figures if figure.unit == self.chart_unit]


@dataclass
class Report:
    board: Board
    period: Period
    as_of: date
    tables: list[Table] = field(default_factory=list)
    percentile_engine: str = ""

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)

    def figure(self, table: str, key: str) -> Figure:
        return next(figure for figure in self.table(table).figures if figure.key == key)

    def as_json(self) -> dict:
        return {
            "board": {"id": self.board.pk, "name": self.board.name},
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "tables": [
                {
                    "key": table.key,
                    "title": table.title,
                    "definition": table.definition,
                    "figures": [figure.as_json() for figure in table.figures],
                }
                for table in self.tables
            ],
        }


def board_report(*, board: Board, period: Period, today: date | None = None, use_percentile_cont=None) -> Report:
    """Every figure of docs/analytics.md for `board` over `period`, as of `today` (the local date)."""
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        return _report(board, period, today, use_percentile_cont)
    with transaction.atomic():
        # PostgreSQL would compile each of these one-off aggregates (JIT) because they read many rows;
        # compiling costs more than it saves (about 0.1 s a query in the 100,000-case bench).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        return _report(board, period, today, use_percentile_cont)


def _report(board: Board, period: Period, today: date, use_percentile_cont) -> Report:
    cohorts = Cohorts(board=board, period=period, today=today)
    report = Report(board=board, period=period, as_of=today)
    if use_percentile_cont is None:
        use_percentile_cont = connection.vendor == "postgresql"
    report.percentile_engine = "percentile_cont" if use_percentile_cont else "portable"
    report.tables = [
        time_to_decision(cohorts, use_percentile_cont),
        meetings_table(cohorts),
        attendance_table(cohorts),
        pathology_table(cohorts),
        implementation_table(cohorts),
        deviations_table(cohorts),
        decision_quality_table(cohorts),
    ]
    return report


# Cohorts: which records count ----------------------------------------------------------------


def _active_cases(queryset: QuerySet, prefix: str = "") -> QuerySet:
    """Leave out withdrawn cases, by whichever mark the schema has."""
    queryset = queryset.exclude(**{f"{prefix}stage": WITHDRAWN})
    if any(f.name == "withdrawn_at" for f in Case._meta.get_fields()):
        queryset = queryset.filter(**{f"{prefix}withdrawn_at__isnull": True})
    return queryset


class Cohorts:
    def __init__(self, *, board: Board, period: Period, today: date):
        self.board, self.period, self.today = board, period, today
        self.start, self.end = period.bounds()
        zone = timezone.get_current_timezone()
        # Outcomes of the period's decisions (done within 180 days, superseded since) are read as of the
        # end of today; they settle once their windows have passed. Overdue is a point in time: the end
        # of the period, or now when the period is not over.
        self.now = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
        self.as_of = min(self.end, self.now)
        self.as_of_day = min(period.end + timedelta(days=1), today)  # overdue: due before this day

    def meetings(self) -> QuerySet[Meeting]:
        """The board's meetings in the period that were not cancelled."""
        return Meeting.objects.filter(board=self.board, starts_at__gte=self.start, starts_at__lt=self.end).exclude(
            status=MeetingStatus.CANCELLED
        )

    def listings(self) -> QuerySet[AgendaItem]:
        """Agenda items of those meetings: a case listed at two meetings is two listings."""
        return _active_cases(AgendaItem.objects.filter(meeting__in=self.meetings()), "case__")

    def discussed_cases(self) -> QuerySet[Case]:
        """Cases discussed (outcome "discussed") at a meeting of the period."""
        discussed = self.listings().filter(outcome=Outcome.DISCUSSED).values("case_id")
        return _active_cases(Case.objects.filter(board=self.board, pk__in=discussed))

    def signed_decisions(self) -> QuerySet[Decision]:
        """Decisions of the board signed in the period (first decisions and corrections)."""
        return _active_cases(
            Decision.objects.filter(
                case__board=self.board,
                status=DecisionStatus.SIGNED,
                signed_at__gte=self.start,
                signed_at__lt=self.end,
            ),
            "case__",
        )

    def current_decisions(self) -> QuerySet[Decision]:
        """Of those, the ones not superseded (as of the report): the board's standing recommendations."""
        return self.signed_decisions().exclude(superseded_at__lt=self.now)

    def first_decisions(self) -> QuerySet[Decision]:
        """The first signed decision of each case (corrections do not restart the clock)."""
        return self.signed_decisions().filter(supersedes__isnull=True)

    def planned_actions(self) -> QuerySet[FollowUp]:
        """The plan actions of the standing decisions signed in the period."""
        return FollowUp.objects.filter(kind=FollowUpKind.ACTION, decision__in=self.current_decisions())


# Time -----------------------------------------------------------------------------------------


def _days(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() / 86400 if isinstance(value, timedelta) else float(value)


def time_to_decision(cohorts: Cohorts, use_percentile_cont: bool) -> Table:
    waits = (
        cohorts.first_decisions()
        .order_by()
        .annotate(wait=ExpressionWrapper(F("signed_at") - F("case__created_at"), output_field=DurationField()))
    )
    groups: dict[str, tuple[int, float | None, float | None]] = {}
    if use_percentile_cont:
        rows = waits.values("case__priority").annotate(
            n=Count("pk"), p50=PercentileCont("wait", 0.5), p90=PercentileCont("wait", 0.9)
        )
        # The overall figures need a pass of their own: percentiles do not combine across groups.
        overall = waits.aggregate(n=Count("pk"), p50=PercentileCont("wait", 0.5), p90=PercentileCont("wait", 0.9))
        groups = {row["case__priority"]: (row["n"], _days(row["p50"]), _days(row["p90"])) for row in rows}
        groups[""] = (overall["n"], _days(overall["p50"]), _days(overall["p90"]))
    else:
        values: dict[str, list[float]] = {"": []}
        for priority, wait in waits.values_list("case__priority", "wait"):
            days = _days(wait)
            values[""].append(days)
            values.setdefault(priority, []).append(days)
        for key, found in values.items():
            found.sort()
            groups[key] = (len(found), percentile(found, 0.5), percentile(found, 0.9))
    figures = []
    for key, label in [("", "All cases"), *Priority.choices]:
        n, p50, p90 = groups.get(key, (0, None, None))
        name = key or "all"
        figures += [
            Figure(f"{name}_median", f"{label}: median", DAYS, None, n, p50),
            Figure(f"{name}_p90", f"{label}: 90th percentile", DAYS, None, n, p90),
        ]
    return Table(
        "time_to_decision",
        "Referral to signed decision",
        "Days from the case's registration to the signature of its first decision, for cases whose first "
        "decision was signed in the period. The denominator is the number of such cases.",
        figures,
        chart_unit=DAYS,
    )


# Meetings -------------------------------------------------------------------------------------


def meetings_table(cohorts: Cohorts) -> Table:
    listings = cohorts.listings()
    earlier = AgendaItem.objects.filter(
        case=OuterRef("case"), outcome=Outcome.DISCUSSED, meeting__starts_at__lt=OuterRef("meeting__starts_at")
    ).exclude(meeting__status=MeetingStatus.CANCELLED)
    numbers = listings.annotate(rediscussed=Exists(earlier)).aggregate(
        listed=Count("pk"),
        decided=Count("pk", filter=~Q(outcome=Outcome.PENDING)),
        deferred=Count("pk", filter=Q(outcome=Outcome.DEFERRED)),
        discussed=Count("pk", filter=Q(outcome=Outcome.DISCUSSED)),
        planned=Sum("minutes", filter=Q(outcome=Outcome.DISCUSSED)),
        timed=Count("pk", filter=Q(outcome=Outcome.DISCUSSED, actual_minutes__isnull=False)),
        planned_timed=Sum("minutes", filter=Q(outcome=Outcome.DISCUSSED, actual_minutes__isnull=False)),
        actual=Sum("actual_minutes", filter=Q(outcome=Outcome.DISCUSSED)),
        cases_discussed=Count("case", distinct=True, filter=Q(outcome=Outcome.DISCUSSED)),
        cases_rediscussed=Count("case", distinct=True, filter=Q(outcome=Outcome.DISCUSSED, rediscussed=True)),
    )
    meetings = quorum_facts(cohorts)
    recorded = [m for m in meetings if m["recorded"]]
    failed = [m for m in recorded if m["quorum_present"] < len(cohorts.board.quorum_specialties)]
    return Table(
        "meetings",
        "Meetings",
        "Meetings of the board in the period that were not cancelled, and the cases listed on their agendas.",
        [
            Figure("meetings", "Meetings", COUNT, len(meetings), None, len(meetings)),
            Figure("cases_per_meeting", "Cases listed per meeting", RATIO, numbers["listed"], len(meetings)),
            Figure(
                "planned_minutes_per_case",
                "Minutes per case discussed, planned",
                MINUTES,
                numbers["planned"] or 0,
                numbers["discussed"],
            ),
            Figure(
                "planned_minutes_per_timed_case",
                "Minutes per case, planned (cases whose time was recorded)",
                MINUTES,
                numbers["planned_timed"] or 0,
                numbers["timed"],
            ),
            Figure(
                "actual_minutes_per_case",
                "Minutes per case, actual (where recorded)",
                MINUTES,
                numbers["actual"] or 0,
                numbers["timed"],
            ),
            Figure("deferral_rate", "Listings deferred", SHARE, numbers["deferred"], numbers["decided"]),
            Figure(
                "rediscussion_rate",
                "Cases discussed again after an earlier discussion",
                SHARE,
                numbers["cases_rediscussed"],
                numbers["cases_discussed"],
            ),
            Figure("quorum_failed", "Meetings that failed quorum", SHARE, len(failed), len(recorded)),
        ],
    )


def quorum_facts(cohorts: Cohorts) -> list[dict]:
    """Per meeting of the period: was attendance recorded, and how many quorum specialties were present."""
    present = (
        Attendance.objects.filter(meeting=OuterRef("pk"), present=True, specialty__in=cohorts.board.quorum_specialties)
        .order_by()
        .values("meeting")
        .annotate(n=Count("specialty", distinct=True))
        .values("n")
    )
    rows = (
        cohorts.meetings()
        .annotate(recorded=Exists(Attendance.objects.filter(meeting=OuterRef("pk"))), quorum_present=Subquery(present))
        .order_by()
        .values("pk", "recorded", "quorum_present")
    )
    return [{**row, "quorum_present": row["quorum_present"] or 0} for row in rows]


def attendance_table(cohorts: Cohorts) -> Table:
    recorded = cohorts.meetings().filter(Exists(Attendance.objects.filter(meeting=OuterRef("pk"))))
    rows = (
        Attendance.objects.filter(meeting__in=recorded, present=True)
        .exclude(specialty="")
        .order_by()
        .values("specialty")
        .annotate(meetings=Count("meeting", distinct=True))
    )
    counts = {row["specialty"]: row["meetings"] for row in rows}
    total = recorded.count()
    board = cohorts.board
    shown = [*board.quorum_specialties, *(c for c in board.required_specialties if c not in board.quorum_specialties)]
    shown += sorted(code for code in counts if code not in shown)
    return Table(
        "attendance",
        "Attendance by specialty",
        "For each specialty, the meetings of the period with attendance recorded at which at least one of its "
        "members was present.",
        [Figure(code, Specialty(code).label, SHARE, counts.get(code, 0), total) for code in shown],
    )


# Pathology ------------------------------------------------------------------------------------


def pathology_table(cohorts: Cohorts) -> Table:
    def amended(*classes):
        return Exists(
            PathologyReport.objects.filter(
                case=OuterRef("pk"), status=ReportStatus.AMENDED, discrepancy__in=classes, created_at__lt=cohorts.now
            )
        )

    cases = cohorts.discussed_cases().annotate(
        has_major=amended(Discrepancy.MAJOR),
        has_minor=amended(Discrepancy.MINOR),
        has_any=amended(*Discrepancy.values),
    )
    numbers = cases.aggregate(
        total=Count("pk"),
        any=Count("pk", filter=Q(has_any=True)),
        major=Count("pk", filter=Q(has_major=True)),
        minor=Count("pk", filter=Q(has_minor=True, has_major=False)),
        none=Count("pk", filter=Q(has_any=True, has_minor=False, has_major=False)),
    )
    superseded = PathologyReport.objects.filter(supersedes=OuterRef("pathology_report"), created_at__lt=cohorts.now)
    on_pathology = cohorts.signed_decisions().filter(pathology_report__isnull=False)
    decisions = on_pathology.annotate(is_stale=Exists(superseded)).aggregate(
        total=Count("pk"), stale=Count("pk", filter=Q(is_stale=True))
    )
    total = numbers["total"]
    return Table(
        "pathology",
        "Pathology review",
        "Cases discussed in the period whose pathology was amended (by the most severe discrepancy class of "
        "their amendments); signed decisions of the period made on a report since superseded.",
        [
            Figure("amended_any", "Cases with amended pathology", SHARE, numbers["any"], total),
            Figure("amended_major", "… major discrepancy", SHARE, numbers["major"], total),
            Figure("amended_minor", "… minor discrepancy", SHARE, numbers["minor"], total),
            Figure("amended_none", "… no discrepancy", SHARE, numbers["none"], total),
            Figure(
                "decisions_on_superseded",
                "Decisions signed on pathology later superseded",
                SHARE,
                decisions["stale"],
                decisions["total"],
            ),
        ],
    )


def discordance_register(*, board: Board, period: Period) -> QuerySet[PathologyReport]:
    """The amendments of the period, with what they replaced and whether a decision was signed on that."""
    start, end = period.bounds()
    decided_on_original = Decision.objects.filter(pathology_report=OuterRef("supersedes"), status=DecisionStatus.SIGNED)
    return (
        _active_cases(
            PathologyReport.objects.filter(
                case__board=board, status=ReportStatus.AMENDED, created_at__gte=start, created_at__lt=end
            ),
            "case__",
        )
        .select_related("case__patient", "supersedes", "pathologist")
        .annotate(decided_on_original=Exists(decided_on_original))
        .order_by("-created_at", "-id")
    )


# Implementation -------------------------------------------------------------------------------


def implementation_table(cohorts: Cohorts) -> Table:
    actions = cohorts.planned_actions().exclude(status=SUSPENDED)
    aggregates = {}
    for days in IMPLEMENTATION_DAYS:
        window = timedelta(days=days)
        matured = Q(decision__signed_at__lte=cohorts.now - window)
        aggregates[f"due_{days}"] = Count("pk", filter=matured)
        aggregates[f"done_{days}"] = Count(
            "pk",
            filter=matured
            & Q(status=FollowUpStatus.DONE, completed_at__lte=F("decision__signed_at") + window)
            & Q(completed_at__lt=cohorts.now),
        )
    overdue = _active_cases(FollowUp.objects.filter(case__board=cohorts.board), "case__").filter(
        due_on__gte=cohorts.period.start, due_on__lt=cohorts.as_of_day
    )
    # A superseded decision's actions were replaced by its correction's; a suspended follow-up is not due.
    overdue = overdue.exclude(status=SUSPENDED).exclude(decision__superseded_at__lt=cohorts.as_of)
    aggregates_overdue = overdue.aggregate(
        due=Count("pk"),
        open=Count("pk", filter=Q(completed_at__isnull=True) | Q(completed_at__gte=cohorts.as_of)),
    )
    numbers = actions.aggregate(**aggregates)
    figures = [
        Figure(
            f"done_within_{days}",
            f"Done within {days} days of signing",
            SHARE,
            numbers[f"done_{days}"],
            numbers[f"due_{days}"],
        )
        for days in IMPLEMENTATION_DAYS
    ]
    figures.append(
        Figure(
            "overdue",
            "Follow-ups due in the period and still open",
            SHARE,
            aggregates_overdue["open"],
            aggregates_overdue["due"],
        )
    )
    return Table(
        "implementation",
        "Implementation of the plan",
        "Plan actions of the standing decisions signed in the period, done within 30, 90 and 180 days of the "
        "signature (counted once that many days have passed); follow-ups due in the period not closed by its end.",
        figures,
    )


def deviations_table(cohorts: Cohorts) -> Table:
    actions = cohorts.planned_actions()
    rows = actions.filter(status=FollowUpStatus.DEVIATED).order_by().values("deviation_code").annotate(n=Count("pk"))
    counts = {row["deviation_code"]: row["n"] for row in rows}
    total = sum(counts.values())
    return Table(
        "deviations",
        "Deviations by reason",
        "Plan actions of the standing decisions signed in the period that were not carried out, by coded reason; "
        "a share of all deviations.",
        [Figure(code, label, SHARE, counts.get(code, 0), total) for code, label in DeviationCode.choices],
    )


# Decision fields ------------------------------------------------------------------------------


def decision_quality_table(cohorts: Cohorts) -> Table:
    n = cohorts.current_decisions().aggregate(
        total=Count("pk"),
        yes=Count("pk", filter=Q(guideline_concordance=Concordance.YES)),
        no=Count("pk", filter=Q(guideline_concordance=Concordance.NO)),
        na=Count("pk", filter=Q(guideline_concordance=Concordance.NOT_APPLICABLE)),
        trial_recorded=Count("pk", filter=Q(trial_considered__isnull=False)),
        considered=Count("pk", filter=Q(trial_considered=True)),
        eligible=Count("pk", filter=Q(trial_eligible=True)),
        enrolled=Count("pk", filter=Q(trial_enrolled=True)),
        curative=Count("pk", filter=Q(treatment_intent=TreatmentIntent.CURATIVE)),
        palliative=Count("pk", filter=Q(treatment_intent=TreatmentIntent.PALLIATIVE)),
    )
    recorded = n["yes"] + n["no"] + n["na"]
    return Table(
        "decision_quality",
        "Decision quality",
        "The standing decisions signed in the period (a superseded decision is replaced by its correction). "
        "Concordance counts the decisions where a guideline applies; trials narrow from considered to enrolled.",
        [
            Figure("concordance_recorded", "Concordance recorded", SHARE, recorded, n["total"]),
            Figure("concordant", "Concordant with the guideline", SHARE, n["yes"], n["yes"] + n["no"]),
            Figure("not_applicable", "No guideline applies", SHARE, n["na"], recorded),
            Figure("trial_considered", "Trial considered", SHARE, n["considered"], n["trial_recorded"]),
            Figure("trial_eligible", "… eligible", SHARE, n["eligible"], n["considered"]),
            Figure("trial_enrolled", "… enrolled", SHARE, n["enrolled"], n["eligible"]),
            Figure("curative", "Curative intent", SHARE, n["curative"], n["curative"] + n["palliative"]),
        ],
    )


# Periods as the portal, the API and the paper take them ----------------------------------------


class PeriodError(ValueError):
    """A period that cannot be read; the message says what to send instead."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _day(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise PeriodError(name, f"'{name}' must be a date written YYYY-MM-DD, e.g. 2026-01-01.")
    if not is_plausible(day):
        raise PeriodError(name, f"'{name}' must lie between {EARLIEST_DATE.year} and {LATEST_DATE.year}.")
    return day


def parse_period(start: str | None, end: str | None, *, today: date | None = None) -> Period:
    """`from` and `to` (inclusive) as YYYY-MM-DD; both left out: the current quarter; one: its quarter's other end."""
    first = _day(start, "from") if start else None
    last = _day(end, "to") if end else None
    if first is None and last is None:
        return current_quarter(today)
    first = first or quarter_start(last)
    last = last or quarter_end(first)
    if last < first:
        raise PeriodError("to", "'to' must be on or after 'from'.")
    return Period(first, last)


def board_report_for_user(*, user, board_id, period: Period, today: date | None = None) -> Report:
    """The report of a board the user may read analytics of (404 otherwise), for the paper and the API."""
    from .. import permissions

    board = permissions.get_analytics_board_for_user(user, board_id)
    return board_report(board=board, period=period, today=today)
