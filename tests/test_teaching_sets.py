"""Teaching sets: prepared by one member, approved by another with the reviewer permission; every step audited."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from cases import models as m
from cases.services import teaching as t
from cases.services.errors import Conflict, GatesUnmet, StaleVersion
from tests import factories as f
from tests.conftest import audit_actions


@pytest.fixture
def reviewer(chair):
    m.BoardMembership.objects.filter(user=chair).update(reviews_teaching=True)
    chair.__dict__.pop("_tb_memberships", None)
    return chair


@pytest.fixture
def teaching_case(board, coordinator, radiologist, pathologist):
    case = f.CaseFactory(board=board, created_by=coordinator, history="Seen with her husband.")
    f.ImagingStudyFactory(case=case, radiologist=radiologist, body_site="Left distal femur")
    f.PathologyReportFactory(case=case, pathologist=pathologist, diagnosis="Tumoral calcinosis.")
    return case


def draft(by, *cases, **kwargs):
    return t.teaching_set_create(by=by, cases=list(cases), **kwargs)


def test_a_set_gives_each_case_a_random_code_and_includes_diagnoses_and_body_sites(radiologist, teaching_case):
    second = f.CaseFactory(board=teaching_case.board)
    teaching_set = draft(radiologist, teaching_case, second)
    codes = [c.code for c in teaching_set.cases.all()]
    assert all(re.fullmatch(r"T-[2-9A-HJ-NP-Z]{4}", code) for code in codes) and len(set(codes)) == 2
    keys = set(m.TeachingText.objects.filter(teaching_case__teaching_set=teaching_set).values_list("key", flat=True))
    study, report = teaching_case.imaging_studies.get(), teaching_case.pathology_reports.get()
    assert keys == {f"imaging.{study.pk}.body_site", f"pathology.{report.pk}.diagnosis"}
    assert teaching_set.status == "draft" and teaching_set.prepared_by == radiologist
    assert audit_actions(action__startswith="teaching_set") == ["teaching_set.create"]


def test_included_free_text_starts_as_the_scrubbed_original(radiologist, teaching_case):
    patient = teaching_case.patient
    teaching_case.history = f"{patient.given_name} {patient.family_name} ({patient.mrn}) treated in 2014."
    teaching_case.save()
    draft(radiologist, teaching_case, include=[f"case.{teaching_case.pk}.history"])
    text = m.TeachingText.objects.get(key=f"case.{teaching_case.pk}.history")
    assert text.text == "[name] ([record number]) treated in 2014." and not text.edited


def test_the_cases_of_a_meeting_must_be_on_its_agenda(radiologist, teaching_case, quorate_meeting):
    with pytest.raises(ValidationError) as refused:
        draft(radiologist, teaching_case, meeting=quorate_meeting)
    assert "agenda" in str(refused.value)
    m.AgendaItem.objects.create(meeting=quorate_meeting, case=teaching_case, position=1)
    assert draft(radiologist, teaching_case, meeting=quorate_meeting).meeting == quorate_meeting


def test_an_unknown_field_or_no_case_is_refused_and_nothing_is_created(radiologist, teaching_case):
    with pytest.raises(ValidationError):
        draft(radiologist, teaching_case, include=["case.999.history"])
    with pytest.raises(ValidationError):
        draft(radiologist)
    assert not m.TeachingSet.objects.exists() and not audit_actions(action__startswith="teaching_set")


def test_an_outsider_gets_not_found(outsider, teaching_case):
    with pytest.raises(Http404):
        draft(outsider, teaching_case)


def test_the_preparer_edits_and_the_edit_is_stored_as_typed(radiologist, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    key = f"case.{teaching_case.pk}.history"
    teaching_set = t.teaching_text_edit(teaching_set=teaching_set, by=radiologist, key=key, text="Seen alone.",
                                        expected_version=1)  # fmt: skip
    row = m.TeachingText.objects.get(key=key)
    assert (row.text, row.edited, teaching_set.version) == ("Seen alone.", True, 2)
    assert audit_actions(action__startswith="teaching_set") == ["teaching_set.create", "teaching_set.text_edit"]


def test_only_the_preparer_changes_a_draft(radiologist, pathologist, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(PermissionDenied):
        t.teaching_text_include(teaching_set=teaching_set, by=pathologist, key=f"case.{teaching_case.pk}.history")


def test_an_edit_on_an_old_version_is_refused(radiologist, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(StaleVersion):
        t.teaching_text_edit(teaching_set=teaching_set, by=radiologist, key=f"case.{teaching_case.pk}.history",
                             text="x", expected_version=7)  # fmt: skip


def test_an_image_goes_in_only_with_the_confirmation(radiologist, teaching_case):
    study = teaching_case.imaging_studies.get()
    image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(ValidationError):
        t.teaching_image_include(teaching_set=teaching_set, by=radiologist, key_image=image,
                                 no_burned_in_identifiers=False)  # fmt: skip
    t.teaching_image_include(teaching_set=teaching_set, by=radiologist, key_image=image, no_burned_in_identifiers=True)
    assert m.TeachingImage.objects.get().no_burned_in_identifiers
    assert audit_actions(action__startswith="teaching_set")[-1] == "teaching_set.image_include"


def test_leaving_a_field_out_writes_its_audit_row_and_only_when_it_was_in(radiologist, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    key = f"pathology.{teaching_case.pathology_reports.get().pk}.diagnosis"  # included by default
    teaching_set = t.teaching_text_exclude(teaching_set=teaching_set, by=radiologist, key=key, expected_version=1)
    assert teaching_set.version == 2 and not m.TeachingText.objects.filter(key=key).exists()
    event = m.AuditEvent.objects.get(action="teaching_set.text_exclude")
    assert (event.actor, event.object_type, event.object_id) == (radiologist, "teachingset", str(teaching_set.pk))
    assert (event.case_id, event.changes) == (teaching_case.pk, {"field": key})
    # Leaving out what is already out changes nothing and records nothing.
    t.teaching_text_exclude(teaching_set=teaching_set, by=radiologist, key=key, expected_version=2)
    assert audit_actions(action="teaching_set.text_exclude") == ["teaching_set.text_exclude"]


def test_leaving_an_image_out_writes_its_audit_row_and_only_when_it_was_in(radiologist, teaching_case):
    study = teaching_case.imaging_studies.get()
    image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
    teaching_set = draft(radiologist, teaching_case)
    t.teaching_image_include(teaching_set=teaching_set, by=radiologist, key_image=image, no_burned_in_identifiers=True)
    teaching_set = t.teaching_image_exclude(teaching_set=teaching_set, by=radiologist, key_image=image,
                                            expected_version=2)  # fmt: skip
    assert teaching_set.version == 3 and not m.TeachingImage.objects.exists()
    event = m.AuditEvent.objects.get(action="teaching_set.image_exclude")
    assert (event.actor, event.object_type, event.object_id) == (radiologist, "teachingset", str(teaching_set.pk))
    assert (event.case_id, event.changes) == (teaching_case.pk, {"key_image": image.pk})
    t.teaching_image_exclude(teaching_set=teaching_set, by=radiologist, key_image=image, expected_version=3)
    assert audit_actions(action__startswith="teaching_set") == [
        "teaching_set.create",
        "teaching_set.image_include",
        "teaching_set.image_exclude",
    ]


def test_the_preparer_can_never_approve_their_own_set(reviewer, teaching_case):
    teaching_set = draft(reviewer, teaching_case)
    with pytest.raises(PermissionDenied) as refused:
        t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=1)
    assert "another reviewer" in str(refused.value)
    teaching_set.refresh_from_db()
    assert teaching_set.status == "draft"


def test_a_member_without_the_reviewer_permission_cannot_approve(radiologist, pathologist, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(PermissionDenied):
        t.teaching_set_approve(teaching_set=teaching_set, by=pathologist, expected_version=1)


def test_a_reviewer_approves_the_version_they_read_and_the_set_freezes(radiologist, reviewer, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(StaleVersion):
        t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=0)
    approved = t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=1)
    assert (approved.status, approved.approved_by) == ("approved", reviewer)
    event = m.AuditEvent.objects.get(action="teaching_set.approve")
    assert set(event.changes["texts"]) == set(
        m.TeachingText.objects.filter(teaching_case__teaching_set=teaching_set).values_list("key", flat=True)
    )
    with pytest.raises(Conflict):
        t.teaching_text_edit(teaching_set=approved, by=radiologist, key=f"case.{teaching_case.pk}.history", text="x")
    with pytest.raises(Conflict):
        t.teaching_set_approve(teaching_set=approved, by=reviewer, expected_version=approved.version)


def test_approval_is_refused_while_the_scrubber_still_finds_an_identifier(radiologist, reviewer, teaching_case):
    teaching_set = draft(radiologist, teaching_case)
    key = f"case.{teaching_case.pk}.history"
    t.teaching_text_edit(teaching_set=teaching_set, by=radiologist, key=key,
                         text=f"Call {teaching_case.patient.family_name} on 020 7946 0958.")  # fmt: skip
    teaching_set.refresh_from_db()
    with pytest.raises(GatesUnmet) as refused:
        t.teaching_set_approve(teaching_set=teaching_set, by=reviewer, expected_version=teaching_set.version)
    assert refused.value.codes == ["identifier_in_text"]
    assert "[name]" in refused.value.unmet[0].message and "[phone]" in refused.value.unmet[0].message
    teaching_set.refresh_from_db()
    assert teaching_set.status == "draft"


def test_the_database_refuses_an_approval_by_the_preparer(radiologist, teaching_case):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    teaching_set = draft(radiologist, teaching_case)
    with pytest.raises(IntegrityError), transaction.atomic():
        m.TeachingSet.objects.filter(pk=teaching_set.pk).update(
            status="approved", approved_by=radiologist, approved_at=timezone.now()
        )


@pytest.mark.django_db
def test_in_the_demo_each_boards_chair_and_only_the_chair_reviews_teaching_sets(settings):
    import io

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    reviewers = set(m.BoardMembership.objects.filter(reviews_teaching=True).values_list("board_id", "role"))
    assert reviewers == {(board.pk, "chair") for board in m.Board.objects.filter(memberships__role="chair")}
