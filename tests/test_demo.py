import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from cases import models as m
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
