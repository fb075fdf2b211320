"""Referral intake: a FHIR Bundle in, a case in intake out (docs/fhir.md, "Referral intake")."""

import copy
import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions

URL = "/api/v1/fhir/referrals/"


def worked_example() -> dict:
    """The example of docs/fhir.md, exactly as a reader copies it."""
    text = (Path(settings.BASE_DIR) / "docs" / "fhir.md").read_text()
    block = re.search(r"<!-- referral-example -->\s*```json\n(.*?)\n```", text, re.S)
    return json.loads(block.group(1))


def post(client, bundle, content_type="application/fhir+json", query=""):
    body = bundle if isinstance(bundle, bytes | str) else json.dumps(bundle)
    return client.post(URL + query, data=body, content_type=content_type)


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (m.Patient, m.Case, m.Diagnosis, m.ReferralIntake)}


def issues(response) -> list[tuple[str, str]]:
    assert response["Content-Type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return [(issue["code"], (issue.get("expression") or [""])[0]) for issue in outcome["issue"]]


def test_the_worked_example_of_the_docs_is_taken_in(api, coordinator, board):
    response = post(api(coordinator), worked_example())
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/cases/{body['id']}/"
    case = m.Case.objects.select_related("patient", "board").get(pk=body["id"])
    assert (case.stage, case.board, case.priority) == ("intake", board, "urgent")
    assert (case.patient.mrn, case.patient.family_name, str(case.patient.birth_date)) == (
        "DEMO-300021",
        "Quillfeather",
        "1971-03-14",
    )
    assert case.referring_clinician == "Dr. Ines Morrow, general surgery"
    assert case.clinical_question.startswith("Deep 9 cm mass")
    assert "Report from the referring site: MR right thigh (2026-11-20)" in case.history
    # The referring site's pathology report: its title, date, conclusion and checked ICD-O-3 code.
    assert (
        "Report from the referring site: Core needle biopsy, right thigh (2026-11-25): "
        "High-grade spindle cell sarcoma. (ICD-O-3 8800/3)"
    ) in case.history
    assert not case.pathology_reports.exists()  # the board's own pathologist signs its reports
    primary = case.diagnoses.get(role="primary")
    assert (primary.icd10_code, primary.topography, primary.morphology, primary.laterality) == (
        "C49.21",
        "C49.2",
        "8800/3",
        "right",
    )
    assert list(case.diagnoses.filter(role="comorbidity").values_list("icd10_code", flat=True)) == ["E11.9"]
    assert "referral.intake" in audit_actions(case_id=case.pk)
    coding = api(coordinator).get(f"/api/v1/cases/{case.pk}/coding/").json()
    assert coding["primary"]["icd10"] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cm",
        "code": "C49.21",
        "display": coding["primary"]["icd10"]["display"],
    }
    assert coding["primary"]["morphology"]["system"] == "http://terminology.hl7.org/CodeSystem/icd-o-3"


def test_a_resend_returns_the_same_case_and_creates_nothing(api, coordinator, board):
    client = api(coordinator)
    first = post(client, worked_example())
    before = counts()
    reordered = json.loads(json.dumps(worked_example(), sort_keys=True))  # same content, other key order
    again = post(client, reordered, content_type="application/json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert counts() == before


def test_the_same_identifier_with_other_content_is_a_conflict(api, coordinator, board):
    client = api(coordinator)
    post(client, worked_example())
    before = counts()
    changed = worked_example()
    changed["entry"][1]["resource"]["note"][0]["text"] = "Another question."
    response = post(client, changed)
    assert response.status_code == 409
    assert issues(response) == [("conflict", "Bundle.identifier")]
    assert counts() == before


def test_an_existing_patient_is_matched_by_mrn(api, coordinator, board):
    patient = f.PatientFactory(
        mrn="DEMO-300021", family_name="Quillfeather", birth_date="1971-03-14", registered_board=board
    )
    response = post(api(coordinator), worked_example())
    assert response.status_code == 201
    assert m.Case.objects.get(pk=response.json()["id"]).patient == patient
    assert m.Patient.objects.count() == 1


def test_an_mrn_with_other_details_is_refused_without_saying_which(api, coordinator, board):
    f.PatientFactory(mrn="DEMO-300021", family_name="Someone", registered_board=board)
    before = counts()
    response = post(api(coordinator), worked_example())
    assert response.status_code == 409
    assert "differ" in response.json()["issue"][0]["diagnostics"]
    assert counts() == before


def test_the_board_can_be_given_in_the_query(api, coordinator, board):
    bundle = worked_example()
    bundle["entry"][1]["resource"]["performer"] = []
    response = post(api(coordinator), bundle, query=f"?board={board.pk}")
    assert response.status_code == 201


def broken(**changes) -> dict:
    bundle = copy.deepcopy(worked_example())
    for path, value in changes.items():
        index, *keys = path.split("__")
        target = bundle["entry"][int(index)]["resource"]
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is None:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return bundle


BAD = {
    "not json": (b"{not json", 400, [("invalid", "Bundle")]),
    "not a bundle": ({"resourceType": "Patient"}, 400, [("invalid", "Bundle")]),
    "no entries": ({"resourceType": "Bundle", "type": "transaction"}, 400, [("required", "Bundle.entry")]),
    "an invalid R4 element": (
        broken(**{"0__birthDate": "14 March 1971"}),
        400,
        [("invalid", "Bundle.entry[0].resource.birthDate")],
    ),
    "an unknown resource type": (
        broken(**{"4__resourceType": "Scan"}),
        400,
        [("invalid", "Bundle.entry[4].resource")],
    ),
    "no MRN": (broken(**{"0__identifier": []}), 400, [("required", "Patient.identifier")]),
    "no question, no requester": (
        broken(**{"1__note": None, "1__requester": None}),
        400,
        [("required", "ServiceRequest.note"), ("required", "ServiceRequest.requester")],
    ),
    "codes outside their lists": (
        broken(
            **{
                "2__code__coding__0__code": "C99.99",
                "3__code__coding__0__code": "Q99.999",
                "2__bodySite__0__coding__0__code": "C99.9",
            }
        ),
        400,
        [
            ("code-invalid", "Condition[0].code"),
            ("code-invalid", "Condition[0].bodySite"),
            ("code-invalid", "Condition[1].code"),
        ],
    ),
    "a pathology code outside ICD-O-3": (
        broken(**{"5__conclusionCode__0__coding__0__code": "8800/5"}),
        400,
        [("code-invalid", "DiagnosticReport[1].conclusionCode")],
    ),
    "a NUL character": (broken(**{"1__note": [{"text": "What now?\x00"}]}), 400, [("invalid", "Bundle")]),
    "an unknown board": (
        broken(**{"1__performer": [{"display": "Lung board"}]}),
        422,
        [("not-found", "ServiceRequest.performer[0].display")],
    ),
}


@pytest.mark.parametrize("label", BAD)
def test_a_bad_bundle_gets_an_operation_outcome_naming_each_problem_and_nothing_is_created(
    api, coordinator, board, label
):
    bundle, status_code, expected = BAD[label]
    before = counts()
    response = post(api(coordinator), bundle)
    assert response.status_code == status_code, response.content
    assert issues(response) == expected
    assert counts() == before
    assert audit_actions(action="referral.intake") == []


def test_only_a_coordinator_of_the_board_takes_referrals_in(api, chair, outsider, board):
    before = counts()
    assert post(api(chair), worked_example()).status_code == 403
    refused = post(api(outsider), worked_example())
    assert refused.status_code == 422  # another board is not named: no board that you are a member of
    assert issues(refused) == [("not-found", "ServiceRequest.performer[0].display")]
    assert counts() == before


def test_a_form_post_is_unsupported(api, coordinator, board):
    response = api(coordinator).post(URL, data={"resourceType": "Bundle"}, format="multipart")
    assert response.status_code == 415
