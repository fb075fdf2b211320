"""The quality fields of a decision (guideline concordance, clinical trial, treatment intent) and the
coded reason of a deviated follow-up: services, portal form, API and the case summary PDF."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.printing.documents import render_case_summary
from cases.services import decisions, followups
from tests import factories as f
from tests.conftest import pdf_pages_text

PLAN = [{"category": "surveillance", "detail": "Every 3 months."}]


@pytest.fixture
def consensus_case(make_case):
    return make_case("consensus")


def record(case, by, meeting=None, **fields):
    return decisions.decision_record(
        case=case, by=by, meeting=meeting, consensus_diagnosis="Tumoral calcinosis.", plan=PLAN, **fields
    )


def test_a_decision_records_concordance_trial_and_intent_and_the_audit_row_names_them(consensus_case, coordinator):
    decision = record(
        consensus_case,
        coordinator,
        guideline_concordance="no",
        concordance_reason=" Renal failure rules out the guideline's chemotherapy. ",
        trial_considered=True,
        trial_eligible=True,
        trial_enrolled=False,
        treatment_intent="curative",
    )
    decision.refresh_from_db()
    assert decision.concordance_reason == "Renal failure rules out the guideline's chemotherapy."
    assert decision.quality_items() == [
        ("Guideline concordance", "Not concordant: Renal failure rules out the guideline's chemotherapy."),
        ("Clinical trial", "Eligible, not enrolled"),
        ("Treatment intent", "Curative"),
    ]
    event = m.AuditEvent.objects.get(action="decision.create")
    assert event.changes["guideline_concordance"] == "no" and event.changes["trial_eligible"] is True


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"guideline_concordance": "no", "concordance_reason": "  "}, "concordance_reason"),
        ({"trial_considered": False, "trial_eligible": True}, "trial_eligible"),
        ({"trial_considered": True, "trial_eligible": False, "trial_enrolled": True}, "trial_enrolled"),
        ({"treatment_intent": "adjuvant"}, "treatment_intent"),
        ({"guideline_concordance": "maybe"}, "guideline_concordance"),
    ],
)
def test_quality_fields_that_do_not_hang_together_are_refused_and_nothing_is_saved(
    consensus_case, coordinator, fields, field
):
    with pytest.raises(ValidationError) as refused:
        record(consensus_case, coordinator, **fields)
    assert field in refused.value.message_dict
    assert not m.Decision.objects.exists()


def test_the_database_refuses_a_discordant_decision_without_reason(consensus_case, coordinator):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.DecisionFactory(case=consensus_case, recorded_by=coordinator, guideline_concordance="no")


def test_a_draft_update_keeps_the_quality_fields_consistent(consensus_case, coordinator):
    decision = record(consensus_case, coordinator, trial_considered=True, trial_eligible=True)
    with pytest.raises(ValidationError):
        decisions.decision_update(decision=decision, by=coordinator, trial_considered=False)
    updated = decisions.decision_update(
        decision=decision, by=coordinator, trial_considered=False, trial_eligible=None, guideline_concordance="yes"
    )
    assert (updated.trial_summary, updated.guideline_concordance) == ("No trial considered", "yes")


def test_the_portal_decision_form_saves_the_quality_fields(signed_in, consensus_case, coordinator, quorate_meeting):
    client = signed_in(coordinator)
    url = reverse("decision-edit", args=[consensus_case.pk])
    base = {
        "meeting": str(quorate_meeting.pk),
        "consensus_diagnosis": "Tumoral calcinosis.",
        "plan": ["surveillance"],
        "guideline_concordance": "no",
        "concordance_reason": "",
        "trial": "enrolled",
        "treatment_intent": "palliative",
    }
    refused = client.post(url, base)
    assert refused.status_code == 400 and "Say why the plan departs from the guideline." in refused.content.decode()
    assert not m.Decision.objects.exists()
    client.post(url, base | {"concordance_reason": "Patient on dialysis."})
    decision = m.Decision.objects.get()
    assert (decision.trial_considered, decision.trial_eligible, decision.trial_enrolled) == (True, True, True)
    assert (decision.guideline_concordance, decision.treatment_intent) == ("no", "palliative")
    page = client.get(url).content.decode()  # the draft's form shows what was saved
    assert 'value="enrolled" selected' in page and "Patient on dialysis." in page
    case_page = client.get(reverse("case-detail", args=[consensus_case.pk])).content.decode()
    assert "Eligible and enrolled" in case_page and "Not concordant: Patient on dialysis." in case_page


def test_the_api_takes_and_shows_the_quality_fields(api, consensus_case, coordinator):
    body = {
        "case": consensus_case.pk,
        "consensus_diagnosis": "Tumoral calcinosis.",
        "plan": PLAN,
        "guideline_concordance": "not_applicable",
        "trial_considered": True,
        "trial_eligible": False,
        "treatment_intent": "curative",
    }
    response = api(coordinator).post("/api/v1/decisions/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["guideline_concordance"], data["trial_eligible"], data["trial_enrolled"]) == (
        "not_applicable",
        False,
        None,
    )
    refused = api(coordinator).patch(
        f"/api/v1/decisions/{data['id']}/",
        {"trial_enrolled": True},
        format="json",
        HTTP_IF_MATCH=response["ETag"],
    )
    assert refused.status_code == 400 and "trial_enrolled" in refused.json()


def test_the_case_summary_pdf_shows_the_quality_fields(consensus_case, coordinator):
    record(consensus_case, coordinator, guideline_concordance="yes", treatment_intent="curative")
    text = " ".join(pdf_pages_text(render_case_summary(user=coordinator, case_id=consensus_case.pk).content))
    assert "Concordant with the guideline" in text and "Curative" in text and "Not recorded" in text


# Coded deviations -------------------------------------------------------------------------


@pytest.fixture
def action(case, chair):
    return m.FollowUp.objects.create(
        case=case, kind="action", description="MRI", due_on=timezone.localdate(), owner=chair
    )


def test_a_deviation_has_a_coded_reason_and_other_needs_words(action, chair):
    with pytest.raises(ValidationError) as refused:
        followups.follow_up_deviate(follow_up=action, by=chair, code="other", reason=" ")
    assert "deviation_reason" in refused.value.message_dict
    with pytest.raises(ValidationError):
        followups.follow_up_deviate(follow_up=action, by=chair, code="bad-luck")
    deviated = followups.follow_up_deviate(follow_up=action, by=chair, code="patient_choice")
    assert (deviated.status, deviated.deviation_code, deviated.deviation_reason) == ("deviated", "patient_choice", "")
    assert m.AuditEvent.objects.get(action="follow_up.deviated").changes["code"] == "patient_choice"


def test_the_api_deviates_with_a_code(api, action, chair):
    url = f"/api/v1/follow-ups/{action.pk}/deviate/"
    assert api(chair).post(url, {"code": "unknown"}, format="json").status_code == 400
    response = api(chair).post(url, {"code": "new_information"}, format="json")
    assert response.status_code == 200 and response.json()["deviation_code"] == "new_information"


def test_the_database_refuses_an_uncoded_deviation(case):
    with pytest.raises(IntegrityError), transaction.atomic():
        m.FollowUp.objects.create(
            case=case,
            kind="action",
            description="CT",
            due_on=timezone.localdate(),
            status="deviated",
            deviation_reason="x",
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_codes_existing_deviations_as_other_and_keeps_their_words(action):
    executor = MigrationExecutor(connection)
    before, this = [("cases", "0003_audit_append_only_trigger")], [("cases", "0004_issue17_quality_fields")]
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:  # a deviation as the old schema held it: words, no code
            cursor.execute(
                "UPDATE cases_followup SET status = 'deviated', deviation_reason = %s WHERE id = %s",
                ["The patient declined.", action.pk],
            )
        executor = MigrationExecutor(connection)
        executor.migrate(this)
    finally:
        MigrationExecutor(connection).migrate(leaves)
    action.refresh_from_db()
    assert (action.status, action.deviation_code, action.deviation_reason) == (
        "deviated",
        "other",
        "The patient declined.",
    )
