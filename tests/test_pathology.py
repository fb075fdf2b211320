import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from cases import models as m
from cases.services import pathology
from cases.services.errors import Conflict, StaleVersion
from tests import factories as f
from tests.conftest import audit_actions


def amend(report, by, **overrides):
    fields = {
        "diagnosis": "Devitalised bone and mineralised debris; no osteosarcoma.",
        "amendment_reason": "Re-review after the interdisciplinary meeting.",
        "discrepancy": "major",
    }
    return pathology.pathology_report_amend(report=report, by=by, **{**fields, **overrides})


def test_amending_keeps_the_original_report_readable_and_unchanged(make_case, pathologist):
    case = make_case("pathology")
    original = case.pathology_reports.get()
    before = m.PathologyReport.objects.filter(pk=original.pk).values().get()
    amended = amend(original, pathologist)
    assert m.PathologyReport.objects.filter(pk=original.pk).values().get() == before
    assert amended.supersedes == original
    assert (amended.status, amended.discrepancy, amended.pathologist) == ("amended", "major", pathologist)
    assert amended.specimen == original.specimen
    original.refresh_from_db()
    assert original.superseded_by == amended


@pytest.mark.parametrize("stage", ["pathology", "consensus", "closed"])
def test_amending_moves_the_case_back_to_the_board(stage, make_case, pathologist):
    case = make_case(stage)
    amend(case.pathology_reports.get(), pathologist)
    case.refresh_from_db()
    assert case.stage == "revised_pathology"
    transition = case.events.get(kind="transition")
    assert (transition.from_stage, transition.to_stage) == (stage, "revised_pathology")
    assert case.events.filter(kind="amendment").exists()
    # The specialty input was given on the amended report: it goes stale (tests/test_basis.py).
    assert audit_actions(case_id=case.pk) == ["pathology.amend", "pathology.basis_superseded", "case.transition"]


def test_amending_in_revised_pathology_keeps_the_stage(make_case, pathologist):
    case = make_case("revised_pathology")
    amend(case.pathology_reports.get(), pathologist)
    case.refresh_from_db()
    assert case.stage == "revised_pathology"
    assert not case.events.filter(kind="transition").exists()


def test_a_superseded_report_cannot_be_amended_again(make_case, pathologist):
    original = make_case("pathology").pathology_reports.get()
    amend(original, pathologist)
    with pytest.raises(Conflict) as refused:
        amend(original, pathologist)
    assert refused.value.code == "report_superseded"


def test_the_current_report_of_a_chain_can_be_amended_again(make_case, pathologist):
    original = make_case("pathology").pathology_reports.get()
    second = amend(original, pathologist, discrepancy="minor")
    third = amend(second, pathologist, diagnosis="Third reading.")
    assert third.supersedes == second


def test_a_preliminary_report_is_not_amended(make_case, pathologist):
    report = make_case("pathology", report_status="preliminary").pathology_reports.get()
    with pytest.raises(Conflict) as refused:
        amend(report, pathologist)
    assert refused.value.code == "report_preliminary"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"amendment_reason": "  "}, "amendment_reason"), ({"discrepancy": "huge"}, "discrepancy")],
)
def test_an_amendment_needs_a_reason_and_a_discrepancy_class(overrides, field, make_case, pathologist):
    case = make_case("pathology")
    with pytest.raises(ValidationError) as refused:
        amend(case.pathology_reports.get(), pathologist, **overrides)
    assert field in refused.value.message_dict
    assert case.pathology_reports.count() == 1


def test_a_stale_amendment_is_refused(make_case, pathologist):
    report = make_case("pathology").pathology_reports.get()
    with pytest.raises(StaleVersion):
        amend(report, pathologist, expected_version=7)


def test_only_a_pathologist_of_the_board_amends(make_case, radiologist, coordinator, outsider):
    report = make_case("pathology").pathology_reports.get()
    for user in (radiologist, coordinator):
        with pytest.raises(PermissionDenied):
            amend(report, user)
    with pytest.raises(Http404):
        amend(report, outsider)


def test_the_model_refuses_to_change_a_superseded_report(make_case, pathologist):
    original = make_case("pathology").pathology_reports.get()
    amend(original, pathologist)
    original.refresh_from_db()
    original.diagnosis = "rewritten"
    with pytest.raises(m.FrozenRecordError):
        original.save()
    with pytest.raises(m.FrozenRecordError):
        original.delete()


def test_the_database_refuses_an_amendment_without_what_it_supersedes(make_case, pathologist):
    from django.db import IntegrityError, transaction

    case = make_case("pathology")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.PathologyReport.objects.create(
            case=case,
            specimen="s",
            procedure="p",
            collected_on="2026-01-01",
            diagnosis="d",
            status="amended",
            amendment_reason="r",
            discrepancy="major",
            pathologist=pathologist,
            signed_out_at=f.timezone.now(),
        )


def test_the_database_allows_one_successor_per_report(make_case, pathologist):
    from django.db import IntegrityError, transaction

    original = make_case("pathology").pathology_reports.get()
    amend(original, pathologist)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.PathologyReportFactory(
            case=original.case, status="amended", supersedes=original, amendment_reason="r", discrepancy="minor"
        )


def test_adding_signing_out_and_editing_a_preliminary_report(case, pathologist):
    report = pathology.pathology_report_add(
        case=case,
        by=pathologist,
        specimen="Core",
        procedure="Biopsy",
        collected_on=f.timezone.localdate(),
        diagnosis="Pending immunohistochemistry.",
    )
    assert (report.status, report.signed_out_at) == ("preliminary", None)
    report = pathology.pathology_report_update(report=report, by=pathologist, expected_version=1, diagnosis="Sarcoma.")
    report = pathology.pathology_report_sign_out(report=report, by=pathologist, expected_version=2)
    assert (report.status, report.version, report.diagnosis) == ("final", 3, "Sarcoma.")
    assert report.signed_out_at is not None
    with pytest.raises(Conflict):
        pathology.pathology_report_update(report=report, by=pathologist, diagnosis="Changed quietly.")
    assert audit_actions(case_id=case.pk) == ["pathology.create", "pathology.update", "pathology.sign_out"]


def test_a_new_report_cannot_claim_to_be_an_amendment(case, pathologist):
    with pytest.raises(ValidationError):
        pathology.pathology_report_add(
            case=case,
            by=pathologist,
            status="amended",
            specimen="s",
            procedure="p",
            collected_on=f.timezone.localdate(),
            diagnosis="d",
        )
