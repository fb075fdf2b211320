"""The case and the meeting as FHIR R4 Bundles (cases/interop/fhir.py, docs/fhir.md).

Validated three ways: every resource parses with fhir.resources' R4B models; FHIRPath expressions
(fhirpathpy) assert what the mCODE profiles and the base resources require of what we emit; and
every reference resolves to an entry of the Bundle.
"""

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhirpathpy import evaluate

from cases import codes
from cases import models as m
from cases.demo import SEED_MRN, DemoBuilder
from cases.interop import fhir
from cases.services import coding, pathology
from tests import factories as f
from tests.conftest import audit_actions

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"


def bundle_of(api_client, case_id) -> dict:
    response = api_client.get(f"/api/v1/cases/{case_id}/fhir/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return json.loads(response.content)


@pytest.fixture
def seed(db):
    DemoBuilder().build()
    case = m.Case.objects.get(patient__mrn=SEED_MRN)
    chair = m.BoardMembership.objects.get(board=case.board, role="chair").user
    return case, chair


def resources(bundle: dict, resource_type: str | None = None) -> list[dict]:
    found = [entry["resource"] for entry in bundle["entry"]]
    return [r for r in found if resource_type is None or r["resourceType"] == resource_type]


def references(node) -> list[str]:
    """Every `reference` value anywhere in the document, without recursion limits."""
    found, pending = [], [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if isinstance(item.get("reference"), str):
                found.append(item["reference"])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


# Validity ---------------------------------------------------------------------------------------


def test_every_resource_of_the_seed_case_parses_with_the_r4b_models(api, seed):
    case, chair = seed
    bundle = bundle_of(api(chair), case.pk)
    Bundle.model_validate(bundle)
    for resource in resources(bundle):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    counts = Counter(r["resourceType"] for r in resources(bundle))
    print("\nseed-case Bundle:", dict(sorted(counts.items())), "total", sum(counts.values()))
    assert counts["Patient"] == 1 and counts["CarePlan"] == 1 and counts["Provenance"] >= 2
    assert counts["Condition"] == 4  # the primary cancer and three comorbidities


def test_every_reference_resolves_inside_the_bundle(api, seed):
    case, chair = seed
    bundle = bundle_of(api(chair), case.pk)
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))
    unresolved = sorted(set(references(bundle)) - set(urls))
    assert unresolved == []
    assert len(references(bundle)) > 40


# FHIRPath: what the profiles require -------------------------------------------------------------

REQUEST_STATUS = ["not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped", "unknown"]
CONFORMANCE = [
    # CancerPatient: an MRN identifier, gender from its value set.
    ("Bundle.entry.resource.ofType(Patient).meta.profile", [MCODE + "mcode-cancer-patient"]),
    ("Bundle.entry.resource.ofType(Patient).identifier.where(type.coding.code = 'MR').value.exists()", [True]),
    ("Bundle.entry.resource.ofType(Patient).all(gender in ('male' | 'female' | 'other' | 'unknown'))", [True]),
    # PrimaryCancerCondition: histology-morphology-behavior in ICD-O-3, body site with laterality, ICD-10-CM.
    (
        "Bundle.entry.resource.ofType(Condition).where(meta.profile contains "
        f"'{MCODE}mcode-primary-cancer-condition').extension.where(url = '{MCODE}mcode-histology-morphology-behavior')"
        ".valueCodeableConcept.coding.system",
        [codes.ICDO3],
    ),
    (
        f"Bundle.entry.resource.ofType(Condition).where(meta.profile contains '{MCODE}mcode-primary-cancer-condition')"
        f".bodySite.extension.where(url = '{MCODE}mcode-laterality-qualifier').valueCodeableConcept.coding.code",
        ["7771000"],
    ),
    (
        f"Bundle.entry.resource.ofType(Condition).where(meta.profile contains '{MCODE}mcode-primary-cancer-condition')"
        ".bodySite.coding.system",
        [codes.ICDO3],
    ),
    ("Bundle.entry.resource.ofType(Condition).all(subject.exists() and code.exists())", [True]),
    ("Bundle.entry.resource.ofType(Condition).code.coding.system.distinct()", [codes.ICD10CM]),
    (
        "Bundle.entry.resource.ofType(Condition).clinicalStatus.coding.system.distinct()",
        ["http://terminology.hl7.org/CodeSystem/condition-clinical"],
    ),
    # Observations: a status from ObservationStatus, LOINC codes, a value or a reason it is absent.
    (
        "Bundle.entry.resource.ofType(Observation).all(status in "
        "('registered' | 'preliminary' | 'final' | 'amended' | 'corrected' | 'cancelled' | 'entered-in-error' | "
        "'unknown'))",
        [True],
    ),
    ("Bundle.entry.resource.ofType(Observation).code.coding.system.distinct()", [codes.LOINC]),
    (
        "Bundle.entry.resource.ofType(Observation)"
        ".all((valueCodeableConcept | valueInteger).exists() or dataAbsentReason.exists())",
        [True],
    ),
    (
        f"Bundle.entry.resource.ofType(Observation).where(meta.profile contains '{MCODE}mcode-tnm-stage-group')"
        ".all(hasMember.exists() and focus.exists() and method.exists())",
        [True],
    ),
    (
        f"Bundle.entry.resource.ofType(Observation).where(meta.profile contains '{MCODE}mcode-ecog-performance-status')"
        ".valueInteger",
        [1],  # the seed case's ECOG 1
    ),
    # DiagnosticReport: status, code, subject; pathology in ICD-O-3.
    (
        "Bundle.entry.resource.ofType(DiagnosticReport).all(status in ('registered' | 'partial' | 'preliminary' | "
        "'final' | 'amended' | 'corrected' | 'appended' | 'cancelled' | 'entered-in-error' | 'unknown') "
        "and code.exists() and subject.exists())",
        [True],
    ),
    ("Bundle.entry.resource.ofType(DiagnosticReport).conclusionCode.coding.system.distinct()", [codes.ICDO3]),
    # ImagingStudy: status and the accession number.
    (
        "Bundle.entry.resource.ofType(ImagingStudy).all(status in "
        "('registered' | 'available' | 'cancelled' | 'entered-in-error' | 'unknown') and subject.exists())",
        [True],
    ),
    (
        "Bundle.entry.resource.ofType(ImagingStudy).all(identifier.where(type.coding.code = 'ACSN').value.exists())",
        [True],
    ),
    # CarePlan: status, intent, the multidisciplinary-assessment category, activity statuses, dissent.
    (
        "Bundle.entry.resource.ofType(CarePlan).all(status in ('draft' | 'active' | 'on-hold' | 'revoked' | "
        "'completed' | 'entered-in-error' | 'unknown') and intent in ('proposal' | 'plan' | 'order' | 'option'))",
        [True],
    ),
    (
        "Bundle.entry.resource.ofType(CarePlan).category.coding.where(system = 'http://snomed.info/sct').code",
        ["312384001"],
    ),
    (
        "Bundle.entry.resource.ofType(CarePlan).activity.detail.all(status in ("
        + " | ".join(f"'{s}'" for s in REQUEST_STATUS)
        + "))",
        [True],
    ),
    ("Bundle.entry.resource.ofType(CarePlan).note.text.where(startsWith('Dissent')).count()", [1]),
    # Provenance of the chair's signature.
    (
        "Bundle.entry.resource.ofType(Provenance).where(signature.exists())"
        ".all(target.exists() and recorded.exists() and agent.who.exists() and signature.when.exists())",
        [True],
    ),
    # People: a Practitioner for everyone named, a PractitionerRole for their place on the board (the chair's too).
    ("Bundle.entry.resource.ofType(Practitioner).all(identifier.value.exists() and name.exists())", [True]),
    (
        "Bundle.entry.resource.ofType(PractitionerRole).exists() and Bundle.entry.resource.ofType(PractitionerRole)"
        ".all(active = true and practitioner.reference.exists() and organization.reference.exists() "
        "and code.coding.code.exists())",
        [True],
    ),
    ("Bundle.entry.resource.ofType(PractitionerRole).code.coding.where(code = 'chair').count()", [1]),
    # Every profile we claim is an mCODE one.
    ("Bundle.entry.resource.meta.profile.all(startsWith('http://hl7.org/fhir/us/mcode/'))", [True]),
]


def test_the_bundle_conforms_to_what_the_profiles_require(api, seed):
    """Each FHIRPath expression of CONFORMANCE against the seed case's Bundle; every failure is named."""
    case, chair = seed
    bundle = bundle_of(api(chair), case.pk)
    failures = [
        f"{expression} gave {evaluate(bundle, expression)!r}, not {expected!r}"
        for expression, expected in CONFORMANCE
        if evaluate(bundle, expression) != expected
    ]
    assert failures == []
    print(f"\nFHIRPath conformance: {len(CONFORMANCE)} expressions hold")


def test_the_ecog_score_is_an_mcode_observation(api, case, coordinator):
    m.Case.objects.filter(pk=case.pk).update(performance_status=2)
    bundle = bundle_of(api(coordinator), case.pk)
    [ecog] = evaluate(
        bundle,
        "Bundle.entry.resource.ofType(Observation)"
        f".where(meta.profile contains '{MCODE}mcode-ecog-performance-status')",
    )
    assert ecog["valueInteger"] == 2
    assert ecog["code"]["coding"][0] == {
        "system": codes.LOINC,
        "code": "89247-1",
        "display": "ECOG Performance Status score",
    }
    assert ecog["interpretation"][0]["coding"][0]["code"] == "LA9624-3"


# What the Bundle says ---------------------------------------------------------------------------


def test_a_superseded_report_stays_as_its_own_resource_linked_from_its_successor(api, case, pathologist):
    original = f.PathologyReportFactory(case=case, pathologist=pathologist, morphology="9180/3")
    amended = pathology.pathology_report_amend(
        report=original, by=pathologist, diagnosis="No tumour.", amendment_reason="Review.", discrepancy="major"
    )
    bundle = bundle_of(api(pathologist), case.pk)
    reports = {r["id"]: r for r in resources(bundle, "DiagnosticReport")}
    old, new = reports[f"pathology-{original.pk}"], reports[f"pathology-{amended.pk}"]
    assert (old["status"], new["status"]) == ("final", "amended")
    assert old["meta"]["tag"][0]["code"] == "superseded"
    [link] = [p for p in resources(bundle, "Provenance") if p["id"] == f"amendment-{amended.pk}"]
    assert link["target"] == [fhir.ref("DiagnosticReport", new["id"])]
    assert link["entity"] == [{"role": "revision", "what": fhir.ref("DiagnosticReport", old["id"])}]
    assert link["reason"][0]["text"] == "Review."


def test_an_amended_imaging_study_keeps_the_original_tagged_and_links_back_to_it(api, case, radiologist):
    from cases.services import imaging

    original = f.ImagingStudyFactory(case=case, radiologist=radiologist, body_site="Right knee")
    amended = imaging.imaging_study_amend(
        study=original, by=radiologist, body_site="Left knee", amendment_reason="Wrong side."
    )
    bundle = bundle_of(api(radiologist), case.pk)
    studies = {r["id"]: r for r in resources(bundle, "ImagingStudy")}
    reports = {r["id"]: r for r in resources(bundle, "DiagnosticReport")}
    assert studies[f"imaging-{original.pk}"]["meta"]["tag"][0]["code"] == "superseded"
    assert "meta" not in studies[f"imaging-{amended.pk}"]
    old, new = reports[f"imaging-report-{original.pk}"], reports[f"imaging-report-{amended.pk}"]
    assert (old["status"], new["status"]) == ("final", "amended") and old["meta"]["tag"][0]["code"] == "superseded"
    [link] = [p for p in resources(bundle, "Provenance") if p["id"] == f"imaging-amendment-{amended.pk}"]
    assert link["target"] == [fhir.ref("DiagnosticReport", new["id"])]
    assert link["entity"] == [{"role": "revision", "what": fhir.ref("DiagnosticReport", old["id"])}]
    assert link["reason"] == [{"text": "Wrong side."}]
    for resource in (studies[f"imaging-{original.pk}"], old, new, link):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert set(references(bundle)) <= {entry["fullUrl"] for entry in bundle["entry"]}


def test_activities_follow_the_follow_ups(api, case, chair, coordinator):
    decision = f.DecisionFactory(
        case=case,
        recorded_by=coordinator,
        dissent="Radiation oncology would irradiate.",
        plan=[
            {"category": "surgery", "detail": "Resect."},
            {"category": "radiotherapy", "detail": "Boost."},
            {"category": "surveillance", "detail": "Schedule."},
            {"category": "biopsy", "detail": "Re-biopsy."},
        ],
    )
    due = timezone.localdate() + timedelta(days=10)
    rows = {
        "surgery": ("planned", ""),
        "radiotherapy": ("deviated", "The patient declined."),
        "surveillance": ("done", ""),
    }
    for category, (status, reason) in rows.items():
        m.FollowUp.objects.create(
            case=case,
            decision=decision,
            kind="action",
            category=category,
            description=category,
            due_on=due,
            status=status,
            deviation_code="patient_choice" if status == "deviated" else "",
            deviation_reason=reason,
        )
    bundle = bundle_of(api(coordinator), case.pk)
    [plan] = resources(bundle, "CarePlan")
    statuses = [(a["detail"]["code"]["coding"][0]["code"], a["detail"]["status"]) for a in plan["activity"]]
    assert statuses == [
        ("surgery", "scheduled"),
        ("radiotherapy", "stopped"),
        ("surveillance", "completed"),
        ("biopsy", "not-started"),
    ]
    assert plan["activity"][1]["detail"]["statusReason"]["text"] == "The patient declined."
    assert {"text": "Dissent: Radiation oncology would irradiate."} in plan["note"]
    assert plan["status"] == "draft"


def test_a_suspended_follow_up_maps_to_on_hold_by_its_value():
    class Held:
        status, due_on, deviation_reason = "suspended", timezone.localdate(), ""

    activity = fhir._activity("surgery", "Resect.", Held())
    assert activity["detail"]["status"] == "on-hold"
    assert "amended" in activity["detail"]["statusReason"]["text"]


def activities_of(bundle: dict, decision) -> list[tuple[str, str, str]]:
    """(plan category, status, when) of each activity of the decision's CarePlan."""
    [plan] = [r for r in resources(bundle, "CarePlan") if r["id"] == f"careplan-{decision.pk}"]
    return [
        (a["detail"]["code"]["coding"][0]["code"], a["detail"]["status"], a["detail"].get("scheduledString", ""))
        for a in plan["activity"]
    ]


def test_the_seed_cases_care_plan_holds_every_follow_up_of_its_plan_and_its_surveillance_schedule(api, seed):
    case, chair = seed
    bundle = bundle_of(api(chair), case.pk)
    decision = case.decisions.get()
    visits = list(case.follow_ups.filter(template__isnull=False).order_by("due_on", "id"))
    assert len(visits) >= 10  # the treated-osteosarcoma schedule, generated from its template
    activities = activities_of(bundle, decision)
    assert len(activities) == case.follow_ups.count()  # each plan item has its follow-up; every visit is there
    assert activities[-len(visits) :] == [("surveillance", "scheduled", f"due {v.due_on}") for v in visits]


PLAN = [{"category": "surveillance", "detail": "Imaging every 3 months."}, {"category": "biopsy", "detail": ""}]


def test_an_amendment_puts_the_plan_on_hold_and_the_next_decision_cancels_it_or_carries_it_over(
    api, make_case, coordinator, chair, pathologist, specialists, quorate_meeting
):
    from cases.services import decisions, followups, opinions, workflow

    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    first = decisions.decision_record(case=case, by=coordinator, meeting=quorate_meeting,
                                      consensus_diagnosis="Recurrence.", plan=PLAN)  # fmt: skip
    first = decisions.decision_sign(decision=first, by=chair)
    template = m.FollowUpTemplate.objects.get(code="osteosarcoma-treated")
    visits = followups.follow_up_apply_template(case=case, template=template, by=coordinator,
                                                start_on=timezone.localdate())  # fmt: skip
    schedule = [("surveillance", "scheduled", f"due {v.due_on}") for v in visits]
    client = api(coordinator)
    bundle = bundle_of(client, case.pk)
    assert [a[:2] for a in activities_of(bundle, first)[:2]] == [("surveillance", "scheduled"), ("biopsy", "scheduled")]
    assert activities_of(bundle, first)[2:] == schedule

    # The real flow: the pathology under the signed decision is amended, its follow-ups are suspended.
    pathology.pathology_report_amend(report=case.pathology_reports.get(), by=pathologist, diagnosis="Callus.",
                                     amendment_reason="Re-review.", discrepancy="major")  # fmt: skip
    assert {f.status for f in first.follow_ups.all()} == {"suspended"}
    bundle = bundle_of(client, case.pk)
    [plan] = resources(bundle, "CarePlan")
    assert plan["status"] == "on-hold"
    held = [a["detail"] for a in plan["activity"][:2]]
    assert [a["status"] for a in held] == ["on-hold", "on-hold"]
    assert all("amended" in a["statusReason"]["text"] for a in held)
    # The schedule follows from the plan under review: it is on hold with it.
    assert activities_of(bundle, first)[2:] == [("surveillance", "on-hold", due) for _, _, due in schedule]

    # The board decides again and closes the held follow-ups: the old plan is revoked, its activities cancelled.
    for specialty, user in specialists.items():
        opinions.opinion_confirm(opinion=case.opinions.get(specialty=specialty), by=user)
    workflow.case_transition(case=case, to="consensus", by=coordinator)
    second = decisions.decision_correct(decision=first, by=chair, reason="Pathology amended.",
                                        consensus_diagnosis="Callus.", plan=PLAN[:1])  # fmt: skip
    second = decisions.decision_sign(decision=second, by=chair, suspended_follow_ups="close")
    bundle = bundle_of(client, case.pk)
    plans = {r["id"]: r for r in resources(bundle, "CarePlan")}
    old, new = plans[f"careplan-{first.pk}"], plans[f"careplan-{second.pk}"]
    assert (old["status"], new["status"]) == ("revoked", "active")
    assert [a["detail"]["status"] for a in old["activity"]] == ["cancelled"] * (2 + len(schedule))
    assert all("new decision" in a["detail"]["statusReason"]["text"] for a in old["activity"])
    # The chair closed the old plan's follow-ups, its schedule included: the plan in force holds only its own item.
    assert [a[:2] for a in activities_of(bundle, second)] == [("surveillance", "scheduled")]


def test_tnm_history_keeps_every_staging_and_the_condition_points_at_the_newest(api, case, coordinator):
    coding.diagnosis_set_primary(
        case=case, by=coordinator, icd10_code="C40.22", morphology="9180/3", topography="C40.2"
    )
    day = timezone.localdate()
    first = coding.staging_record(
        case=case,
        by=coordinator,
        kind="clinical",
        t="T1",
        n="N0",
        m="M0",
        stage_group="IA",
        edition="ajcc-8",
        staged_on=day,
    )
    second = coding.staging_record(
        case=case,
        by=coordinator,
        kind="clinical",
        t="T2",
        n="N0",
        m="M1a",
        stage_group="IVA",
        edition="ajcc-8",
        staged_on=day,
    )
    bundle = bundle_of(api(coordinator), case.pk)
    groups = [r["id"] for r in resources(bundle, "Observation") if r["id"].endswith("-group")]
    assert groups == [f"tnm-{first.pk}-group", f"tnm-{second.pk}-group"]
    [condition] = resources(bundle, "Condition")
    assert condition["stage"][0]["assessment"] == [fhir.ref("Observation", f"tnm-{second.pk}-group")]
    values = evaluate(
        bundle,
        f"Bundle.entry.resource.ofType(Observation).where(id.startsWith('tnm-{second.pk}-')).valueCodeableConcept.text",
    )
    assert sorted(values) == sorted(["cT2", "cN0", "cM1a", "IVA"])


# The endpoint -----------------------------------------------------------------------------------


def test_the_export_is_audited_and_stable_byte_for_byte(api, seed):
    case, chair = seed
    client = api(chair)
    first, second = client.get(f"/api/v1/cases/{case.pk}/fhir/"), client.get(f"/api/v1/cases/{case.pk}/fhir/")
    assert first.content == second.content
    assert audit_actions(case_id=case.pk, action="case.fhir") == ["case.fhir", "case.fhir"]
    assert first["Cache-Control"].startswith("no-store")


def test_another_boards_member_gets_not_found_and_nothing_is_audited(api, outsider, case, quorate_meeting):
    for url in (f"/api/v1/cases/{case.pk}/fhir/", f"/api/v1/meetings/{quorate_meeting.pk}/fhir/"):
        response = api(outsider).get(url, HTTP_ACCEPT="application/fhir+json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert m.AuditEvent.objects.filter(action__endswith=".fhir").count() == 0


def test_an_anonymous_request_is_told_to_authenticate(api, case):
    assert api().get(f"/api/v1/cases/{case.pk}/fhir/").status_code == 401


def test_the_meeting_bundle_holds_its_decisions(api, seed):
    case, chair = seed
    decision = case.decisions.get()
    response = api(chair).get(f"/api/v1/meetings/{decision.meeting_id}/fhir/")
    assert response.status_code == 200
    bundle = json.loads(response.content)
    Bundle.model_validate(bundle)
    assert [r["id"] for r in resources(bundle, "CarePlan")] == [f"careplan-{decision.pk}"]
    assert sorted(set(references(bundle)) - {e["fullUrl"] for e in bundle["entry"]}) == []
    assert audit_actions(action="meeting.fhir") == ["meeting.fhir"]


# The session, the user and their memberships, the case (or the meeting and its cases) with one query
# per prefetched relation, and the read audit row: the same with one row as with many.
CASE_QUERIES, MEETING_QUERIES = 19, 20  # issue 11: the read audit is one insert


def fhir_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def grow(case, board, specialists, pathologist, coordinator, count=6):
    """Many studies, an amendment chain, inputs, diagnoses, stagings and a signed decision's follow-ups."""
    previous = f.PathologyReportFactory(case=case, pathologist=pathologist)
    for i in range(count):
        f.ImagingStudyFactory(case=case, radiologist=specialists["radiology"], accession_number=f"ACC{i}")
        previous = f.PathologyReportFactory(
            case=case,
            pathologist=pathologist,
            supersedes=previous,
            status="amended",
            amendment_reason="Review.",
            discrepancy="minor",
        )
        m.Diagnosis.objects.create(case=case, role="comorbidity", icd10_code="N18.6", recorded_by=coordinator)
        m.TnmStaging.objects.create(
            case=case,
            kind="clinical",
            t="T1",
            edition="ajcc-8",
            staged_on=timezone.localdate(),
            recorded_by=coordinator,
        )
    decision = f.DecisionFactory(
        case=case, recorded_by=coordinator, plan=[{"category": "surgery", "detail": ""}] * count
    )
    decision.participants.set(specialists.values())
    for i in range(count):
        m.FollowUp.objects.create(
            case=case,
            decision=decision,
            kind="action",
            category="surgery",
            description=str(i),
            due_on=timezone.localdate(),
        )


def test_the_case_export_runs_the_same_queries_for_many_rows_as_for_few(
    api, case, board, specialists, pathologist, coordinator
):
    client, url = api(coordinator), f"/api/v1/cases/{case.pk}/fhir/"
    grow(case, board, specialists, pathologist, coordinator, count=1)
    few = fhir_queries(client, url)
    grow(case, board, specialists, pathologist, coordinator)
    assert (few, fhir_queries(client, url)) == (CASE_QUERIES, CASE_QUERIES)


def test_the_meeting_export_runs_the_same_queries_for_many_cases_as_for_one(
    api, board, specialists, pathologist, coordinator, quorate_meeting
):
    client, url = api(coordinator), f"/api/v1/meetings/{quorate_meeting.pk}/fhir/"
    first = f.CaseFactory(board=board)
    grow(first, board, specialists, pathologist, coordinator, count=1)
    first.decisions.update(meeting=quorate_meeting)
    few = fhir_queries(client, url)
    for _ in range(5):
        other = f.CaseFactory(board=board)
        grow(other, board, specialists, pathologist, coordinator, count=2)
        other.decisions.update(meeting=quorate_meeting)
    assert (few, fhir_queries(client, url)) == (MEETING_QUERIES, MEETING_QUERIES)
