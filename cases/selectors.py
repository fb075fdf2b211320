"""Non-trivial reads, shared by the web views, the API and the PDF builder.

Each returns its rows with the joins and prefetches it needs, so a page or endpoint issues the
same small number of queries whatever the number of rows.
"""

from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from . import permissions
from .models import (
    REPORT_FIELDS,
    AgendaItem,
    Attendance,
    AuditEvent,
    BoardMembership,
    Case,
    CaseEvent,
    Decision,
    Diagnosis,
    DiagnosisRole,
    FollowUp,
    FollowUpStatus,
    FollowUpTemplate,
    ImagingAddendum,
    ImagingStudy,
    Meeting,
    MeetingStatus,
    Opinion,
    PathologyReport,
    Patient,
    ReportStatus,
    Role,
    Stage,
    TeachingCase,
    TeachingImage,
    TeachingSet,
    TnmStaging,
)
from .models.patients import name_key
from .teaching import fields as teaching_fields
from .types import AnyUser

CASE_ORDERINGS = {
    "updated": ("-updated_at", "-id"),
    "-updated": ("updated_at", "id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "patient": ("patient__family_name", "patient__given_name", "id"),
    "stage": ("stage", "-updated_at", "id"),
    "priority": ("-priority", "-updated_at", "id"),
}


def with_gate_facts(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """Prefetch what the workflow gates read, so listing next moves costs no query per case."""
    return queryset.select_related("board").prefetch_related(
        Prefetch("imaging_studies", queryset=ImagingStudy.objects.only("id", "case_id", "impression")),
        Prefetch(
            "pathology_reports",
            queryset=PathologyReport.objects.only("id", "case_id", "status", "supersedes_id", "created_at"),
        ),
        Prefetch(
            "opinions",
            queryset=Opinion.objects.select_related("author").only(
                "id",
                "case_id",
                "specialty",
                "stale_since",
                "author__username",
                "author__first_name",
                "author__last_name",
            ),
        ),
        Prefetch(
            "decisions",
            queryset=Decision.objects.only(
                "id", "case_id", "status", "superseded_at", "pathology_report_id", "stale_since"
            ),
        ),
    )


def case_list(
    *,
    user: AnyUser,
    board: int | None = None,
    stage: str | None = None,
    priority: str | None = None,
    meeting: int | None = None,
    has_amended_pathology: bool | None = None,
    search: str = "",
    ordering: str = "updated",
    withdrawn: bool | None = False,
) -> QuerySet[Case]:
    """Cases the user may see. Withdrawn cases are left out of worklists: `withdrawn=True` lists only them,
    `None` lists every case."""
    amended = PathologyReport.objects.filter(case=OuterRef("pk"), status=ReportStatus.AMENDED)
    cases = with_review_flags(
        permissions.cases_visible_to(user)
        .select_related("patient", "board")
        .annotate(has_amended_pathology=Exists(amended))
    )
    if withdrawn is not None:
        cases = cases.filter(withdrawn_at__isnull=not withdrawn)
    if board:
        cases = cases.filter(board_id=board)
    if stage:
        cases = cases.filter(stage=stage)
    if priority:
        cases = cases.filter(priority=priority)
    if meeting:
        cases = cases.filter(agenda_items__meeting_id=meeting)
    if has_amended_pathology is not None:
        # django-stubs forgets an annotation once the queryset has passed through a typed helper (with_review_flags).
        cases = cases.filter(has_amended_pathology=has_amended_pathology)  # type: ignore[misc]
    cases = case_search(cases, search)
    return cases.order_by(*CASE_ORDERINGS.get(ordering, CASE_ORDERINGS["updated"]))


def record_prefetches() -> list[Prefetch]:
    """A case's clinical record (imaging, pathology chain, inputs, decisions, follow-up) with its people."""
    return [
        Prefetch(
            "imaging_studies",
            queryset=ImagingStudy.objects.select_related("radiologist", "supersedes", "superseded_by").prefetch_related(
                "key_images", Prefetch("addenda", queryset=ImagingAddendum.objects.select_related("author"))
            ),
        ),
        Prefetch(
            "pathology_reports",
            queryset=PathologyReport.objects.select_related("pathologist", "supersedes").order_by("created_at", "id"),
        ),
        Prefetch("opinions", queryset=Opinion.objects.select_related("author")),
        Prefetch(
            "decisions",
            queryset=Decision.objects.select_related(
                "signed_by", "recorded_by", "meeting", "pathology_report__superseded_by"
            ).prefetch_related("participants"),
        ),
        Prefetch("follow_ups", queryset=FollowUp.objects.select_related("owner")),
    ]


def case_detail(*, user: AnyUser, pk: int | str, action: str | None = None) -> Case:
    """One case with everything its page, API detail and summary PDF show (404, then 403 if `action` is refused)."""
    queryset = _case_detail_queryset(permissions.cases_visible_to(user))
    return permissions.get_for_user(user, queryset, pk, action=action, board_of=lambda case: case.board_id)


def case_detail_for_patient(*, patient: Patient, pk: int | str) -> Case:
    """One case of this patient, whatever its board, with what its page shows (break-the-glass reads)."""
    return permissions.get_visible(_case_detail_queryset(Case.objects.filter(patient=patient)), pk)


def _case_detail_queryset(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("patient", "board", "created_by").prefetch_related(
        *record_prefetches(),
        Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
        Prefetch("agenda_items", queryset=AgendaItem.objects.select_related("meeting").order_by("meeting__starts_at")),
    )


def pathology_chain(case: Case) -> list[PathologyReport]:
    """Reports oldest first, each marked `is_current` and with `replaced_by` set (from prefetched rows)."""
    reports = list(case.pathology_reports.all())
    successor = {r.supersedes_id: r for r in reports if r.supersedes_id}
    for report in reports:
        report.replaced_by = successor.get(report.pk)
        report.is_current = report.replaced_by is None
        report.diagnosis_changed = bool(
            report.supersedes is not None and report.supersedes.diagnosis.strip() != report.diagnosis.strip()
        )
    return reports


def imaging_record(case: Case) -> list[ImagingStudy]:
    """The case's studies, each marked `current` or superseded (read from the prefetched rows)."""
    studies = list(case.imaging_studies.all())
    superseded = {study.supersedes_id for study in studies if study.supersedes_id}
    for study in studies:
        study.current = study.pk not in superseded
    return studies


def opinions_by_specialty(case: Case) -> tuple[dict[str, list[Opinion]], list[str]]:
    """Opinions grouped by specialty code, and the board's required specialties still missing: with no input,
    or only input given on pathology amended since (it does not count for the consensus until re-confirmed)."""
    grouped: dict[str, list[Opinion]] = {}
    for opinion in case.opinions.all():
        grouped.setdefault(opinion.specialty, []).append(opinion)
    counted = {code for code, opinions in grouped.items() if any(not o.is_stale for o in opinions)}
    missing = [code for code in case.board.required_specialties if code not in counted]
    return grouped, missing


def meeting_list(*, user: AnyUser, upcoming: bool | None = None, cancelled: bool = False) -> QuerySet[Meeting]:
    """Meetings the user may see: upcoming, past (held or gone by), or `cancelled` (their own group, newest first)."""
    meetings = (
        permissions.meetings_visible_to(user).select_related("board").annotate(agenda_count=Count("agenda_items"))
    )
    now = timezone.now()
    if cancelled:
        return meetings.filter(status=MeetingStatus.CANCELLED).order_by("-starts_at", "-id")
    if upcoming is True:
        meetings = meetings.filter(starts_at__gte=now - timedelta(hours=12)).exclude(
            status__in=[MeetingStatus.HELD, MeetingStatus.CANCELLED]
        )
    elif upcoming is False:
        meetings = meetings.filter(Q(starts_at__lt=now) | Q(status=MeetingStatus.HELD)).exclude(
            status=MeetingStatus.CANCELLED
        )
        return meetings.order_by("-starts_at", "-id")
    return meetings.order_by("starts_at", "id")


def _item_review_flags() -> dict[str, Exists]:
    """What an agenda row says about an amendment: any (even with nothing stale), a decision or input to review."""
    return {
        "pathology_amended": Exists(
            PathologyReport.objects.filter(case=OuterRef("case_id"), status=ReportStatus.AMENDED)
        ),
        "decision_under_review": Exists(
            Decision.objects.filter(
                case=OuterRef("case_id"), status="signed", superseded_at__isnull=True, stale_since__isnull=False
            )
        ),
        "has_stale_input": Exists(Opinion.objects.filter(case=OuterRef("case_id"), stale_since__isnull=False)),
    }


def meeting_detail(*, user: AnyUser, pk: int | str, action: str | None = None) -> Meeting:
    queryset = (
        permissions.meetings_visible_to(user)
        .select_related("board", "created_by")
        .prefetch_related(
            Prefetch(
                "agenda_items",
                queryset=AgendaItem.objects.select_related(
                    "case__patient", "case__board", "presenter", "rolled_from__meeting"
                ).annotate(**_item_review_flags()),
            ),
            Prefetch("attendance", queryset=Attendance.objects.select_related("user")),
            Prefetch("decisions", queryset=Decision.objects.select_related("signed_by")),
        )
    )
    return permissions.get_for_user(user, queryset, pk, action=action, board_of=lambda meeting: meeting.board_id)


CALENDAR_PAST_DAYS = 90


def meetings_for_calendar(*, user: AnyUser, pk: int | str | None = None) -> list[Meeting]:
    """The user's boards' meetings for a calendar (from 90 days back, or one meeting), agenda minutes included.

    A calendar leaves the hospital, so nothing of a patient is loaded: agenda items bring their minutes,
    presenter and case number only.
    """
    meetings = permissions.meetings_visible_to(user).select_related("board")
    if pk is not None:
        return [permissions.get_visible(meetings.prefetch_related(_calendar_items()), pk)]
    since = timezone.now() - timedelta(days=CALENDAR_PAST_DAYS)
    return list(meetings.filter(starts_at__gte=since).order_by("starts_at", "id").prefetch_related(_calendar_items()))


def _calendar_items() -> Prefetch:
    return Prefetch(
        "agenda_items",
        queryset=AgendaItem.objects.only("id", "meeting_id", "case_id", "presenter_id", "minutes", "position"),
    )


def other_upcoming_listings(meeting: Meeting, case_ids: list[int]) -> dict[int, list[AgendaItem]]:
    """For each case, its items on the agendas of other meetings still to come (a case on two agendas is
    usually a slip: listed again instead of moved). One query."""
    items = (
        AgendaItem.objects.filter(
            case_id__in=case_ids,
            outcome="pending",
            meeting__status=MeetingStatus.SCHEDULED,
            meeting__starts_at__gte=timezone.now(),
        )
        .exclude(meeting=meeting)
        .select_related("meeting")
        .order_by("meeting__starts_at")
    )
    found: dict[int, list[AgendaItem]] = {}
    for item in items:
        found.setdefault(item.case_id, []).append(item)
    return found


def agenda_time_slots(meeting: Meeting) -> list[tuple[AgendaItem, datetime, datetime]]:
    """(item, starts, ends) for each agenda item, from the meeting start and the minutes allotted."""
    slots: list[tuple[AgendaItem, datetime, datetime]] = []
    start = meeting.starts_at
    for item in meeting.agenda_items.all():
        end = start + timedelta(minutes=item.minutes)
        slots.append((item, start, end))
        start = end
    return slots


def cases_awaiting_input(*, user: AnyUser) -> QuerySet[Case]:
    """Open cases on the user's boards that need input from the user's specialty and do not have it."""
    pairs = [
        (m.board_id, m.specialty)
        for m in permissions.memberships_of(user).values()
        if m.specialty and m.specialty in m.board.required_specialties
    ]
    if not pairs:
        return Case.objects.none()
    wanted = Q()
    for board_id, specialty in pairs:
        # Q & Exists is a Q (Q combines with any boolean expression); django-stubs types it Combinable.
        wanted |= Q(board_id=board_id) & ~Exists(Opinion.objects.filter(case=OuterRef("pk"), specialty=specialty))  # type: ignore[assignment]
    open_stages = [Stage.IMAGING, Stage.PATHOLOGY, Stage.REVISED_PATHOLOGY, Stage.CONSENSUS]
    return (
        permissions.cases_visible_to(user)
        .filter(wanted, stage__in=open_stages, withdrawn_at__isnull=True)
        .select_related("patient", "board")
        .order_by("-priority", "updated_at")
    )


def overdue_follow_ups(*, user: AnyUser) -> QuerySet[FollowUp]:
    return (
        permissions.follow_ups_visible_to(user)
        .filter(status=FollowUpStatus.PLANNED, due_on__lt=timezone.localdate(), case__withdrawn_at__isnull=True)
        .select_related("case__patient", "owner")
        .order_by("due_on", "id")
    )


# Printing ------------------------------------------------------------------------------------


def _printable_cases(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """Everything a case summary or a packet section shows, in a fixed number of queries."""
    return queryset.select_related("patient", "board").prefetch_related(*record_prefetches())


def case_printable(*, user: AnyUser, pk: int | str) -> Case:
    """One case with what its summary PDF shows (404 when not visible)."""
    return permissions.get_visible(_printable_cases(permissions.cases_visible_to(user)), pk)


def meeting_packet(*, user: AnyUser, pk: int | str) -> tuple[Meeting, list[Case]]:
    """A meeting with its agenda, attendance and board members, and its cases in agenda order.

    The query count does not depend on the number of cases.
    """
    meeting = permissions.get_visible(
        permissions.meetings_visible_to(user)
        .select_related("board")
        .prefetch_related(
            Prefetch(
                "agenda_items",
                queryset=AgendaItem.objects.select_related(
                    "case__patient", "presenter", "rolled_from__meeting"
                ).annotate(**_item_review_flags()),
            ),
            Prefetch("attendance", queryset=Attendance.objects.select_related("user")),
            Prefetch("board__memberships", queryset=BoardMembership.objects.select_related("user")),
        ),
        pk,
    )
    items = list(meeting.agenda_items.all())
    by_id = {case.pk: case for case in _printable_cases(Case.objects.filter(pk__in=[i.case_id for i in items]))}
    return meeting, [by_id[item.case_id] for item in items]


# Portal reads --------------------------------------------------------------------------------


def board_members(*, board_id: int) -> list[BoardMembership]:
    """A board's members with their users, for presenter, attendance, participant and owner choices."""
    return list(
        BoardMembership.objects.filter(board_id=board_id, user__is_active=True)
        .select_related("user")
        .order_by("specialty", "user__last_name", "user__username")
    )


def agenda_candidates(*, meeting: Meeting) -> QuerySet[Case]:
    """Cases the agenda builder may add: this board, referral complete, open, not yet on this meeting."""
    complete = Q()
    for name in Case.REFERRAL_FIELDS:
        complete &= ~Q(**{name: ""})
    return (
        Case.objects.filter(complete, board_id=meeting.board_id, withdrawn_at__isnull=True)
        .exclude(stage=Stage.CLOSED)
        .exclude(agenda_items__meeting=meeting)
        .select_related("patient")
        .order_by("-priority", "patient__family_name", "id")
    )


def patient_cases(*, user: AnyUser, patient: Patient) -> QuerySet[Case]:
    """The patient's cases on boards the user may see; other boards' cases stay hidden."""
    return permissions.cases_visible_to(user).filter(patient=patient).select_related("board").order_by("-created_at")


def open_cases_of(*, user: AnyUser, patient: Patient) -> list[Case]:
    """The patient's open cases (not closed, not withdrawn) on boards the user may see."""
    return list(
        permissions.cases_visible_to(user)
        .filter(patient=patient, withdrawn_at__isnull=True)
        .exclude(stage=Stage.CLOSED)
        .select_related("board")
        .order_by("created_at", "id")
    )


def cases_to_move_on(*, user: AnyUser) -> QuerySet[Case]:
    """Open cases on the boards the user coordinates, with what the gates read prefetched."""
    boards = [m.board_id for m in permissions.memberships_of(user).values() if m.role == Role.COORDINATOR]
    cases = (
        Case.objects.filter(board_id__in=boards, withdrawn_at__isnull=True)
        .exclude(stage=Stage.CLOSED)
        .select_related("patient")
    )
    return with_gate_facts(cases).order_by("-priority", "updated_at", "id")


def follow_up_templates() -> QuerySet[FollowUpTemplate]:
    return FollowUpTemplate.objects.filter(is_active=True).order_by("name")


def board_meetings(*, board_id: int) -> QuerySet[Meeting]:
    """A board's meetings that a decision can be recorded at, newest first."""
    return (
        Meeting.objects.filter(board_id=board_id)
        .exclude(status=MeetingStatus.CANCELLED)
        .select_related("board")
        .order_by("-starts_at", "-id")
    )


# API lists and searches (cases/api/) ------------------------------------------------------


def case_search(cases: QuerySet[Case], term: str) -> QuerySet[Case]:
    """An exact MRN, or part of the patient's name or of the clinical question (case_list's search too)."""
    term = term.strip()
    if not term:
        return cases
    return cases.filter(
        Q(patient__mrn__iexact=term)
        | Q(patient__family_name__icontains=term)
        | Q(patient__given_name__icontains=term)
        | Q(clinical_question__icontains=term)
    )


def patient_search(patients: QuerySet[Patient], term: str) -> QuerySet[Patient]:
    term = term.strip()
    if not term:
        return patients
    return patients.filter(Q(mrn__iexact=term) | Q(family_name__icontains=term) | Q(given_name__icontains=term))


DAY_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


def _day(term: str) -> date | None:
    for day_format in DAY_FORMATS:
        try:
            return datetime.strptime(term, day_format).date()
        except ValueError:
            continue
    return None


def patient_find(*, user: AnyUser, term: str = "") -> QuerySet[Patient]:
    """Patients the user may see, with how many of their cases the user may see, newest first.

    `term` matches an exact MRN, a birth date, or every word of the name (accents and case ignored).
    """
    boards = permissions.visible_board_ids(user)
    rows = (
        permissions.patients_visible_to(user)
        .select_related("merged_into", "registered_board")
        .annotate(case_count=Count("cases", filter=Q(cases__board_id__in=boards), distinct=True))
    )
    term = term.strip()
    if not term:
        return rows.order_by("-created_at", "-id")
    wanted = Q(mrn__iexact=term)
    day = _day(term)
    if day is not None:
        wanted |= Q(birth_date=day)
    words = name_key(term).split()
    if words:
        named = Q()
        for word in words:
            named &= Q(name_key__contains=word)
        wanted |= named
    return rows.filter(wanted).order_by("family_name", "given_name", "id")


def patient_list(*, user: AnyUser) -> QuerySet[Patient]:
    return permissions.patients_visible_to(user).order_by("family_name", "given_name", "id")


def imaging_study_list(*, user: AnyUser) -> QuerySet[ImagingStudy]:
    return (
        permissions.imaging_studies_visible_to(user)
        # The case: its patient goes into the list's audit event. superseded_by: is the study current.
        .select_related("radiologist", "case", "superseded_by")
        .prefetch_related("key_images")
        .order_by("-performed_on", "-id")
    )


def pathology_report_list(*, user: AnyUser) -> QuerySet[PathologyReport]:
    # `superseded_by` is the reverse one-to-one: joined here so each row's successor costs no query.
    return (
        permissions.pathology_reports_visible_to(user)
        .select_related("pathologist", "superseded_by", "case")
        .order_by("-created_at", "-id")
    )


def opinion_list(*, user: AnyUser) -> QuerySet[Opinion]:
    return permissions.opinions_visible_to(user).select_related("author", "case").order_by("-updated_at", "-id")


def decision_list(*, user: AnyUser) -> QuerySet[Decision]:
    return (
        permissions.decisions_visible_to(user)
        .select_related("recorded_by", "signed_by", "case")
        .prefetch_related("participants")
        .order_by("-created_at", "-id")
    )


def follow_up_list(*, user: AnyUser) -> QuerySet[FollowUp]:
    return permissions.follow_ups_visible_to(user).select_related("owner", "case").order_by("due_on", "id")


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor").order_by("-created_at", "-id")


# Audit trail -------------------------------------------------------------------------------

VIEW_ACTIONS = ("case.view", "case.print", "meeting.print")


def audit_search(
    *,
    username: str = "",
    mrn: str = "",
    object_type: str = "",
    object_id: str = "",
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first, by who, which patient (MRN), which object and when."""
    events = AuditEvent.objects.all()
    if username:
        events = events.filter(actor_username=username)
    if mrn:
        events = events.filter(patient_id__in=Patient.objects.filter(mrn=mrn).values("pk"))
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if action:
        events = events.filter(action__startswith=action)
    if date_from:
        events = events.filter(created_at__date__gte=date_from)
    if date_to:
        events = events.filter(created_at__date__lte=date_to)
    return events.order_by("-id")


class ExportReturned(TypedDict):
    count: int
    ids: list[int]
    patient_ids: list[int]
    case_ids: list[int]


def audit_export(events: QuerySet[AuditEvent], *, limit: int) -> tuple[QuerySet[AuditEvent], ExportReturned]:
    """The events an export streams, and what it returns: how many, and the first `limit` event, patient and case ids.

    The export is fixed at the newest event counted here, so it holds exactly what its audit event names (events
    written while it streams, its own event among them, stay out). Four queries, however many events.
    """
    totals = events.aggregate(count=Count("pk"), last=Max("pk"))
    events = events.filter(pk__lte=totals["last"] or 0)

    def distinct(field: str) -> list[int]:
        values = events.exclude(**{field: None}).order_by(field).values_list(field, flat=True).distinct()
        return list(values[:limit])

    returned: ExportReturned = {
        "count": totals["count"],
        "ids": list(events.values_list("pk", flat=True)[:limit]),
        "patient_ids": distinct("patient_id"),
        "case_ids": distinct("case_id"),
    }
    return events, returned


def case_viewers(*, case_id: int) -> list[dict[str, Any]]:
    """Who opened or printed this case: one row per person, with how often and when last."""
    rows = list(
        AuditEvent.objects.filter(case_id=case_id, action__in=VIEW_ACTIONS)
        .values("actor_username", "actor__first_name", "actor__last_name")
        .annotate(times=Count("id"), last_seen=Max("created_at"))
        .order_by("-last_seen")
    )
    for row in rows:
        # The person's name; the username only when the account has none (or is gone).
        name = f"{row.pop('actor__first_name') or ''} {row.pop('actor__last_name') or ''}".strip()
        row["name"] = name or row["actor_username"]
    return rows


# After an amendment: what changed, and what needs review -------------------------------------

# A label for every field an amendment can change: a report field added without one fails at import.
CHANGE_LABELS = {
    "diagnosis": "Diagnosis",
    "specimen": "Specimen",
    "laterality": "Laterality",
    "procedure": "Procedure",
    "collected_on": "Collected",
    "topography": "ICD-O-3 topography",
    "morphology": "ICD-O-3 morphology",
    "icdo3_code": "ICD-O-3 (free text)",
}
CHANGE_FIELDS = [(name, CHANGE_LABELS[name]) for name in REPORT_FIELDS]


def _field_value(report: PathologyReport, name: str) -> str:
    value = getattr(report, name)
    return value.isoformat() if hasattr(value, "isoformat") else (value or "").strip()


def _readable(report: PathologyReport, name: str) -> str:
    """The value as the report page shows it: a code with its title, a choice by its label."""
    if name in ("topography", "morphology"):
        return " ".join(part for part in (getattr(report, name), getattr(report, f"{name}_display")) if part)
    if name == "laterality":
        return report.get_laterality_display() if report.laterality else ""
    return _field_value(report, name)


class FieldChange(TypedDict):
    field: str
    label: str
    before: str
    after: str


class AmendmentStep(TypedDict):
    report: PathologyReport
    replaces: PathologyReport
    fields: list[FieldChange]


class AmendedChain(TypedDict):
    original: PathologyReport
    current: PathologyReport
    reports: list[PathologyReport]
    overall: list[FieldChange]
    steps: list[AmendmentStep]
    major: bool


def _changed_fields(before: PathologyReport, after: PathologyReport) -> list[FieldChange]:
    # Compared by value (a code, not its title), shown as read.
    return [
        {"field": name, "label": label, "before": _readable(before, name), "after": _readable(after, name)}
        for name, label in CHANGE_FIELDS
        if _field_value(before, name) != _field_value(after, name)
    ]


def pathology_changes(case: Case) -> list[AmendedChain]:
    """Each amended chain of reports, original → … → current, field by field (from prefetched rows).

    `overall` compares the first report with the current one; `steps` says what each amendment changed,
    with its discrepancy class, reason, time and pathologist, so a change undone later is still shown.
    """
    reports = list(case.pathology_reports.all())
    successor = {r.supersedes_id: r for r in reports if r.supersedes_id}
    chains: list[AmendedChain] = []
    for root in (r for r in reports if r.supersedes_id is None and r.pk in successor):
        chain = [root]
        while chain[-1].pk in successor:
            chain.append(successor[chain[-1].pk])
        steps: list[AmendmentStep] = [
            {"report": after, "replaces": before, "fields": _changed_fields(before, after)}
            for before, after in zip(chain, chain[1:], strict=False)
        ]
        chains.append(
            {
                "original": root,
                "current": chain[-1],
                "reports": chain,
                "overall": _changed_fields(root, chain[-1]),
                "steps": steps,
                "major": any(step["report"].discrepancy == "major" for step in steps),
            }
        )
    return chains


def with_review_flags(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate cases with `decision_under_review` and `has_stale_input` (two subqueries, no per-row query)."""
    return queryset.annotate(
        decision_under_review=Exists(
            Decision.objects.filter(
                case=OuterRef("pk"), status="signed", superseded_at__isnull=True, stale_since__isnull=False
            )
        ),
        has_stale_input=Exists(Opinion.objects.filter(case=OuterRef("pk"), stale_since__isnull=False)),
    )


def cases_needing_review(*, user: AnyUser) -> QuerySet[Case]:
    """Cases whose signed decision or specialty input rests on pathology amended since (withdrawn ones left out)."""
    return (
        with_review_flags(permissions.cases_visible_to(user).filter(withdrawn_at__isnull=True))
        .filter(Q(decision_under_review=True) | Q(has_stale_input=True))
        .select_related("patient", "board")
        .order_by("-priority", "-updated_at", "id")
    )


def awaiting_a_meeting(*, user: AnyUser) -> QuerySet[AgendaItem]:
    """Cases deferred (or left by a cancelled meeting) that no later meeting has taken up yet, and still open."""
    listed = AgendaItem.objects.filter(
        case=OuterRef("case_id"), meeting__status__in=[MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS]
    )
    return (
        permissions.agenda_items_visible_to(user)
        .filter(outcome="deferred", rolled_to__isnull=True, case__withdrawn_at__isnull=True)
        .exclude(case__stage=Stage.CLOSED)
        .exclude(Exists(listed))
        .select_related("case__patient", "meeting__board")
        .order_by("meeting__starts_at", "position")
    )


# Teaching sets -------------------------------------------------------------------------------


def teaching_set_list(*, user: AnyUser) -> QuerySet[TeachingSet]:
    return (
        permissions.teaching_sets_visible_to(user)
        .select_related("board", "meeting", "prepared_by", "approved_by")
        .annotate(case_count=Count("cases"))
        .order_by("-created_at", "-id")
    )


def teaching_set_detail(
    *, user: AnyUser, pk: int | str, with_codes: bool = False
) -> tuple[TeachingSet, dict[int, Case]]:
    """A set with its cases, texts and images, and each case's record (by case id); 404 when not visible.
    `with_codes` adds the coded diagnoses and stagings the printed copy shows (two queries, whatever the size)."""
    teaching_set = permissions.get_visible(
        permissions.teaching_sets_visible_to(user)
        .select_related("board", "meeting", "prepared_by", "approved_by")
        .prefetch_related(
            Prefetch(
                "cases",
                queryset=TeachingCase.objects.prefetch_related(
                    "texts", Prefetch("images", queryset=TeachingImage.objects.select_related("key_image"))
                ),
            )
        ),
        pk,
    )
    ids = [c.case_id for c in teaching_set.cases.all()]
    rows = teaching_fields.case_rows(Case.objects.filter(pk__in=ids))
    if with_codes:
        rows = teaching_fields.with_codes(rows)
    return teaching_set, {case.pk: case for case in rows}


# Coded data (cases/codes/) -------------------------------------------------------------------


class CaseCoding(TypedDict):
    primary: Diagnosis | None
    comorbidities: list[Diagnosis]
    stagings: list[TnmStaging]
    current: dict[str, TnmStaging]  # the newest staging of each kind (clinical, pathological)


def case_coding(*, case: Case) -> CaseCoding:
    """The case's primary diagnosis, comorbidities and TNM staging history (oldest first), in two queries."""
    diagnoses = list(Diagnosis.objects.filter(case=case).order_by("created_at", "id"))
    stagings = list(TnmStaging.objects.filter(case=case).select_related("recorded_by").order_by("created_at", "id"))
    current: dict[str, TnmStaging] = {}
    for staging in stagings:
        current[staging.kind] = staging  # the newest of each kind wins
    return {
        "primary": next((d for d in diagnoses if d.role == DiagnosisRole.PRIMARY), None),
        "comorbidities": [d for d in diagnoses if d.role == DiagnosisRole.COMORBIDITY],
        "stagings": stagings,
        "current": current,
    }


def case_fhir(*, user: AnyUser, pk: int | str) -> Case:
    """One case with everything its FHIR Bundle holds (cases/interop/fhir.py), in a fixed number of queries."""
    queryset = (
        permissions.cases_visible_to(user)
        .select_related("patient", "board")
        .prefetch_related(
            *record_prefetches(),
            Prefetch("diagnoses", queryset=Diagnosis.objects.order_by("created_at", "id")),
            Prefetch(
                "stagings", queryset=TnmStaging.objects.select_related("recorded_by").order_by("created_at", "id")
            ),
            Prefetch("board__memberships", queryset=BoardMembership.objects.select_related("user")),
        )
    )
    return permissions.get_visible(queryset, pk)


def meeting_fhir(*, user: AnyUser, pk: int | str) -> tuple[Meeting, list[Case]]:
    """A meeting and the cases of its decisions, each as case_fhir loads it (queries fixed per meeting)."""
    meeting = permissions.get_visible(permissions.meetings_visible_to(user).select_related("board"), pk)
    case_ids = Decision.objects.filter(meeting=meeting).values("case_id")
    queryset = (
        Case.objects.filter(pk__in=case_ids)
        .select_related("patient", "board")
        .prefetch_related(
            *record_prefetches(),
            Prefetch("diagnoses", queryset=Diagnosis.objects.order_by("created_at", "id")),
            Prefetch(
                "stagings", queryset=TnmStaging.objects.select_related("recorded_by").order_by("created_at", "id")
            ),
        )
        .order_by("id")
    )
    memberships = list(BoardMembership.objects.filter(board_id=meeting.board_id).select_related("user"))
    cases = list(queryset)
    for case in cases:
        case.board = meeting.board
        case.fhir_memberships = memberships
    return meeting, cases
