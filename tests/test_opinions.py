import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cases import models as m
from cases.services import decisions, opinions
from cases.services.errors import Conflict, StaleVersion
from tests import factories as f
from tests.conftest import audit_actions


def test_a_member_records_input_for_their_own_specialty(case, radiologist):
    opinion = opinions.opinion_record(case=case, by=radiologist, assessment="Lobulated calcification.")
    assert (opinion.specialty, opinion.author, opinion.version) == ("radiology", radiologist, 1)
    assert case.events.filter(kind="opinion").count() == 1
    assert audit_actions(case_id=case.pk) == ["opinion.create"]


def test_recording_twice_asks_to_edit_instead(case, radiologist):
    opinions.opinion_record(case=case, by=radiologist, assessment="First.")
    with pytest.raises(Conflict) as refused:
        opinions.opinion_record(case=case, by=radiologist, assessment="Second.")
    assert refused.value.code == "opinion_exists"
    assert m.Opinion.objects.count() == 1


def test_a_coordinator_has_no_specialty_to_speak_for(case, coordinator):
    with pytest.raises(PermissionDenied):
        opinions.opinion_record(case=case, by=coordinator, assessment="x")


def test_an_outsider_cannot_record_input(case, outsider):
    with pytest.raises(Http404):
        opinions.opinion_record(case=case, by=outsider, assessment="x")


def test_the_author_edits_and_every_edit_keeps_before_and_after(case, radiologist):
    opinion = opinions.opinion_record(case=case, by=radiologist, assessment="Before.")
    opinion = opinions.opinion_update(opinion=opinion, by=radiologist, expected_version=1, assessment="After.")
    assert (opinion.assessment, opinion.version) == ("After.", 2)
    event = m.AuditEvent.objects.get(action="opinion.update")
    assert event.changes == {"assessment": ["Before.", "After."]}


def test_nobody_else_edits_an_authors_input(case, radiologist, chair):
    opinion = opinions.opinion_record(case=case, by=radiologist, assessment="Mine.")
    with pytest.raises(PermissionDenied):
        opinions.opinion_update(opinion=opinion, by=chair, assessment="Overwritten.")


def test_an_edit_based_on_an_old_version_is_refused(case, radiologist):
    opinion = opinions.opinion_record(case=case, by=radiologist, assessment="v1")
    opinions.opinion_update(opinion=opinion, by=radiologist, expected_version=1, assessment="v2")
    with pytest.raises(StaleVersion):
        opinions.opinion_update(opinion=opinion, by=radiologist, expected_version=1, assessment="v2 from a stale tab")
    opinion.refresh_from_db()
    assert opinion.assessment == "v2"


def test_input_closes_once_the_decision_is_signed(make_case, coordinator, chair, radiologist, quorate_meeting):
    case = make_case("consensus")
    opinion = case.opinions.get(specialty="radiology")
    f.on_agenda(quorate_meeting, case)
    decision = decisions.decision_record(
        case=case,
        by=coordinator,
        meeting=quorate_meeting,
        consensus_diagnosis="x",
        plan=[{"category": "surveillance", "detail": ""}],
    )
    decisions.decision_sign(decision=decision, by=chair)
    with pytest.raises(Conflict) as refused:
        opinions.opinion_update(opinion=opinion, by=radiologist, assessment="late change")
    assert refused.value.code == "input_closed"
