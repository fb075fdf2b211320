import io
from collections import Counter
from datetime import UTC

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from cases import models as m
from cases.demo import DemoBuilder
from cases.services.audit import audit_verify_chain


def table_counts():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"cases", "auth"}
    }


@pytest.mark.django_db
def test_loading_the_demo_twice_leaves_the_same_rows(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    first = table_counts()
    call_command("load_demo", stdout=io.StringIO())
    assert table_counts() == first
    assert first["cases.Case"] >= 7


@pytest.mark.django_db
def test_the_demo_tells_the_seed_case_and_spreads_cases_over_every_stage(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    seed = m.Case.objects.get(patient__mrn="DEMO-100001")
    assert seed.stage == "closed"
    assert seed.imaging_studies.count() == 3
    assert all(study.key_images.count() == 1 for study in seed.imaging_studies.all())
    original, amended = seed.pathology_reports.order_by("id")
    assert amended.supersedes == original and amended.discrepancy == "major"
    assert {o.specialty for o in seed.opinions.all()} >= set(seed.board.required_specialties)
    decision = seed.decisions.get()
    assert decision.is_signed and decision.pathology_report == amended
    assert seed.follow_ups.filter(kind="surveillance").count() == 19
    assert set(m.Case.objects.values_list("stage", flat=True)) == set(m.Stage.values)
    assert m.Board.objects.count() == 2
    assert m.Meeting.objects.filter(status="scheduled", agenda_published_at__isnull=False).exists()
    assert audit_verify_chain().ok


@pytest.mark.django_db
def test_the_demo_refuses_to_load_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("load_demo")
    assert not m.Case.objects.exists()
    call_command("load_demo", "--force", stdout=io.StringIO())
    assert m.Case.objects.exists()


# What DemoBuilder makes, pinned: a refactoring of the demo must leave every count and every story as it is.
EXPECTED_ROWS = {
    "auth.User": 9,
    "cases.AgendaItem": 6,
    "cases.Attendance": 10,
    "cases.AuditDatabase": 1,
    "cases.AuditEvent": 118,
    "cases.Board": 2,
    "cases.BoardMembership": 12,
    "cases.Case": 7,
    "cases.CaseEvent": 72,
    "cases.CredentialEpoch": 9,
    "cases.Decision": 2,
    "cases.Diagnosis": 4,
    "cases.FollowUp": 22,
    "cases.FollowUpTemplate": 1,
    "cases.ImagingStudy": 8,
    "cases.KeyImage": 3,
    "cases.Meeting": 4,
    "cases.Notification": 28,
    "cases.Opinion": 13,
    "cases.PathologyReport": 7,
    "cases.Patient": 7,
    "cases.TnmStaging": 2,
}
EXPECTED_AUDIT = {
    "agenda.add": 6,
    "agenda.outcome": 2,
    "agenda.publish": 3,
    "attendance.record": 10,
    "auth.credentials_revoked": 9,
    "case.create": 7,
    "case.transition": 18,
    "decision.create": 2,
    "decision.sign": 2,
    "diagnosis.comorbidity_add": 3,
    "diagnosis.primary": 1,
    "follow_up.apply_template": 1,
    "imaging.create": 8,
    "meeting.create": 4,
    "meeting.status": 4,
    "opinion.create": 13,
    "pathology.amend": 2,
    "pathology.create": 5,
    "patient.create": 7,
    "staging.record": 2,
    "user.update": 9,
}
# Each demo case: (board, stage, imaging studies, pathology reports, inputs, decisions).
EXPECTED_CASES = {
    "DEMO-100001": ("Sarcoma board", "closed", 3, 2, 5, 1),
    "DEMO-100002": ("Sarcoma board", "intake", 0, 0, 0, 0),
    "DEMO-100003": ("Sarcoma board", "imaging", 1, 0, 0, 0),
    "DEMO-100004": ("Sarcoma board", "consensus", 1, 1, 4, 0),
    "DEMO-200011": ("Breast board", "pathology", 1, 1, 0, 0),
    "DEMO-200012": ("Breast board", "revised_pathology", 1, 2, 0, 0),
    "DEMO-200013": ("Breast board", "closed", 1, 1, 4, 1),
}
# Each meeting: (board, days from now, status, published, agenda as (MRN, presenter, minutes, outcome), present).
EXPECTED_MEETINGS = [
    ("Sarcoma board", -14, "held", True, [("DEMO-100001", None, 15, "discussed")],
     ["chair", "nephrologist", "orthopaedic", "pathologist", "radiologist", "radonc"]),
    ("Sarcoma board", 7, "scheduled", True,
     [("DEMO-100003", "orthopaedic", 15, "pending"), ("DEMO-100004", "orthopaedic", 15, "pending")], []),
    ("Breast board", -21, "held", True, [("DEMO-200013", None, 15, "discussed")],
     ["medonc", "outsider", "pathologist", "radiologist"]),
    ("Breast board", 10, "scheduled", False,
     [("DEMO-200011", "outsider", 10, "pending"), ("DEMO-200012", "outsider", 10, "pending")], []),
]  # fmt: skip


@pytest.mark.django_db
def test_the_demo_builder_makes_exactly_the_expected_rows_and_audit_trail():
    assert DemoBuilder().build()
    counts = {label: n for label, n in table_counts().items() if n and label != "auth.Permission"}
    assert counts == EXPECTED_ROWS
    assert dict(Counter(m.AuditEvent.objects.values_list("action", flat=True))) == EXPECTED_AUDIT


@pytest.mark.django_db
def test_each_demo_case_sits_at_its_stage_with_its_records():
    DemoBuilder().build()
    found = {
        case.patient.mrn: (
            case.board.name,
            case.stage,
            case.imaging_studies.count(),
            case.pathology_reports.count(),
            case.opinions.count(),
            case.decisions.count(),
        )
        for case in m.Case.objects.select_related("patient", "board")
    }
    assert found == EXPECTED_CASES


@pytest.mark.django_db
def test_the_demo_meetings_keep_their_dates_agenda_order_and_attendance():
    DemoBuilder().build()
    today = timezone.now().date()  # the demo counts meeting days from now in UTC
    found = [
        (
            meeting.board.name,
            (meeting.starts_at.astimezone(UTC).date() - today).days,
            meeting.status,
            meeting.agenda_published_at is not None,
            [
                (item.case.patient.mrn, getattr(item.presenter, "username", None), item.minutes, item.outcome)
                for item in meeting.agenda_items.order_by("position")
            ],
            sorted(a.user.username for a in meeting.attendance.filter(present=True)),
        )
        for meeting in m.Meeting.objects.select_related("board").order_by("board__name", "starts_at")
    ]
    assert found == sorted(EXPECTED_MEETINGS, key=lambda row: (row[0], row[1]))
    dcis = m.Decision.objects.get(case__patient__mrn="DEMO-200013")
    assert dcis.is_signed and dcis.dissent and [p["category"] for p in dcis.plan] == ["surveillance"]


def test_the_demo_loads_on_29_february(db, monkeypatch):
    """A birthday "so many years ago" from 29 February falls in a year without one: the 28th stands in."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from cases.demo import years_ago

    monkeypatch.setattr(timezone, "now", lambda: datetime(2028, 2, 29, 12, 0, tzinfo=UTC))
    assert str(years_ago(1)) == "2027-02-28" and str(years_ago(4)) == "2024-02-29"
