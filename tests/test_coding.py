"""Coded data: code lists (cases/codes/, docs/codes.md), the coding services, the API with system
URIs, the portal page and its picker, the site-list command and the free-text migration."""

import importlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from cases import codes
from cases import models as m
from cases.codes import tnm
from cases.services import coding, pathology
from tests import factories as f
from tests.conftest import audit_actions

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
SNOMED = "http://snomed.info/sct"


# Code lists ----------------------------------------------------------------------------------


def test_the_shipped_icd10cm_list_is_whole_and_refuses_codes_outside_it():
    assert len(codes.icd10cm()) > 90_000
    assert codes.icd10_cm("n18.6") == codes.Coding(ICD10CM, "N18.6", "End stage renal disease")
    for bad in ("C99.99", "N186", "renal", "Q99.999"):
        with pytest.raises(ValidationError):
            codes.icd10_cm(bad)


def test_without_a_site_list_icdo3_is_checked_for_its_form(db):
    assert codes.morphology("9180/3").code == "9180/3"
    assert codes.topography("c40.2").code == "C40.2"
    assert codes.behaviour("9180/3") == "malignant, primary site"
    for check, bad in (
        (codes.morphology, "9180"),
        (codes.morphology, "9180/5"),
        (codes.topography, "C99.1"),
        (codes.topography, "40.2"),
    ):
        with pytest.raises(ValidationError):
            check(bad)


def test_a_site_list_loaded_from_a_file_is_then_enforced(db, tmp_path):
    synthetic = tmp_path / "morphology.tsv"
    synthetic.write_text(
        "# a synthetic list, not WHO's\n9180/3\tSynthetic osteosarcoma title\n8800/3\tSynthetic sarcoma title\n"
    )
    call_command("load_code_list", "icd-o-3-morphology", str(synthetic))
    assert codes.morphology("9180/3").display == "Synthetic osteosarcoma title"
    with pytest.raises(ValidationError, match="not in this site's"):
        codes.morphology("8000/3")
    assert [c.code for c in codes.search("icd-o-3-morphology", "sarcoma")] == ["8800/3", "9180/3"]
    assert audit_actions(action="code_list.load") == ["code_list.load"]


def test_a_bad_site_list_file_loads_nothing(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("9180/3,Osteosarcoma\nnot-a-code,Oops\n")
    with pytest.raises(CommandError, match="line 2"):
        call_command("load_code_list", "icd-o-3-morphology", str(bad))
    assert m.CodeConcept.objects.count() == 0


@pytest.mark.parametrize(
    "fields, bad",
    [
        ({"t": "T5"}, "t"),
        ({"n": "N4"}, "n"),
        ({"m": "M2"}, "m"),
        ({"stage_group": "V"}, "stage_group"),
        ({"edition": "ajcc-9"}, "edition"),
        ({"t": "", "n": "", "m": "", "stage_group": ""}, "t"),
    ],
)
def test_tnm_grammar_names_the_bad_field(fields, bad):
    values = {
        "kind": "clinical",
        "t": "T2a",
        "n": "N1mi",
        "m": "M0",
        "stage_group": "IIB",
        "edition": "ajcc-8",
        **fields,
    }
    with pytest.raises(ValidationError) as error:
        tnm.check_staging(**values)
    assert bad in error.value.message_dict


# Services ------------------------------------------------------------------------------------


def test_coding_the_primary_diagnosis_keeps_each_change_in_the_audit_trail(case, coordinator):
    first = coding.diagnosis_set_primary(
        case=case, by=coordinator, icd10_code="C40.22", morphology="9180/3", laterality="left"
    )
    assert (first.icd10_display, first.morphology_display) == (
        "Malignant neoplasm of long bones of left lower limb",
        "",
    )
    again = coding.diagnosis_set_primary(case=case, by=coordinator, expected_version=1, morphology="9186/3")
    assert (again.pk, again.version, again.morphology) == (first.pk, 2, "9186/3")
    assert audit_actions(action="diagnosis.primary") == ["diagnosis.primary", "diagnosis.primary"]
    assert m.AuditEvent.objects.filter(action="diagnosis.primary").order_by("sequence").last().changes == {
        "morphology": ["9180/3", "9186/3"]
    }


def test_a_bad_code_changes_nothing_and_names_every_bad_field(case, coordinator):
    with pytest.raises(ValidationError) as error:
        coding.diagnosis_set_primary(case=case, by=coordinator, icd10_code="C99.99", topography="X1", laterality="up")
    assert set(error.value.message_dict) == {"icd10_code", "topography", "laterality"}
    assert m.Diagnosis.objects.count() == 0 and audit_actions(action="diagnosis.primary") == []


def test_restaging_adds_a_row_and_keeps_the_history(case, coordinator):
    day = timezone.localdate()
    for t in ("T1", "T2"):
        coding.staging_record(
            case=case,
            by=coordinator,
            kind="pathological",
            after_therapy=True,
            t=t,
            n="N0",
            m="M0",
            stage_group="",
            edition="uicc-8",
            staged_on=day,
        )
    stagings = list(case.stagings.order_by("id"))
    assert [s.category("t") for s in stagings] == ["ypT1", "ypT2"]
    assert coding.staging_label(stagings[-1]) == "ypT2 ypN0 ypM0, UICC 8th edition"


def test_an_outsider_codes_nothing(case, outsider):
    from django.http import Http404

    with pytest.raises(Http404):
        coding.comorbidity_add(case=case, by=outsider, icd10_code="N18.6")


def test_pathology_reports_carry_checked_codes_and_free_text_is_flagged(case, pathologist):
    coded = pathology.pathology_report_add(
        case=case,
        by=pathologist,
        specimen="Mass",
        procedure="Biopsy",
        collected_on=timezone.localdate(),
        diagnosis="Osteosarcoma.",
        topography="C40.2",
        morphology="9180/3",
        laterality="left",
    )
    assert (coded.topography, coded.morphology, coded.laterality) == ("C40.2", "9180/3", "left")
    legacy = pathology.pathology_report_add(
        case=case,
        by=pathologist,
        specimen="Mass",
        procedure="Biopsy",
        collected_on=timezone.localdate(),
        diagnosis="Osteosarcoma.",
        icdo3_code="9180/3",
    )
    assert (legacy.morphology, legacy.icdo3_code, legacy.icdo3_needs_review) == ("9180/3", "", False)
    # New free text in the old ICD-O-3 field is refused (issue 13); only migrated values stay as text, flagged.
    with pytest.raises(ValidationError, match="This is not an ICD-O-3 code"):
        pathology.pathology_report_add(
            case=case,
            by=pathologist,
            specimen="Mass",
            procedure="Biopsy",
            collected_on=timezone.localdate(),
            diagnosis="Osteosarcoma.",
            icdo3_code="osteosarc.",
        )
    with pytest.raises(ValidationError) as error:
        pathology.pathology_report_add(
            case=case,
            by=pathologist,
            specimen="Mass",
            procedure="Biopsy",
            collected_on=timezone.localdate(),
            diagnosis="x",
            morphology="9180",
        )
    assert "morphology" in error.value.message_dict


def test_the_migration_keeps_valid_free_text_as_codes_and_flags_the_rest(case, pathologist):
    migration = importlib.import_module("cases.migrations.0004_issue14_coded_data")
    good = f.PathologyReportFactory(case=case, pathologist=pathologist, icdo3_code=" 9180/3 ")
    bad = f.PathologyReportFactory(case=case, pathologist=pathologist, icdo3_code="osteosarcoma")
    empty = f.PathologyReportFactory(case=case, pathologist=pathologist)
    frozen = f.PathologyReportFactory(case=case, pathologist=pathologist, icdo3_code="9260/3")
    f.PathologyReportFactory(
        case=case,
        pathologist=pathologist,
        supersedes=frozen,
        status="amended",
        amendment_reason="r",
        discrepancy="minor",
    )
    from django.apps import apps

    migration.split_free_text_icdo3(apps, None)
    rows = {r.pk: (r.morphology, r.icdo3_code, r.icdo3_needs_review) for r in m.PathologyReport.objects.all()}
    assert rows[good.pk] == ("9180/3", "", False)
    assert rows[bad.pk] == ("", "osteosarcoma", True)
    assert rows[empty.pk] == ("", "", False)
    assert rows[frozen.pk] == ("9260/3", "", False)  # a superseded report is migrated too


# API -----------------------------------------------------------------------------------------


def test_the_api_takes_and_returns_codes_with_their_system(api, case, coordinator):
    client = api(coordinator)
    body = {
        "icd10": {"system": ICD10CM, "code": "C40.22"},
        "topography": {"system": ICDO3, "code": "C40.2"},
        "morphology": {"system": ICDO3, "code": "9180/3"},
        "laterality": {"system": SNOMED, "code": "7771000"},
        "text": "Osteosarcoma",
    }
    response = client.post(f"/api/v1/cases/{case.pk}/coding/primary/", body, format="json")
    assert response.status_code == 200, response.content
    primary = response.json()["primary"]
    assert primary["icd10"] == {
        "system": ICD10CM,
        "code": "C40.22",
        "display": "Malignant neoplasm of long bones of left lower limb",
    }
    assert primary["laterality"] == {"system": SNOMED, "code": "7771000", "display": "Left (qualifier value)"}
    assert primary["behaviour"] == "malignant, primary site"
    staged = client.post(
        f"/api/v1/cases/{case.pk}/coding/staging/",
        {
            "kind": "clinical",
            "t": "T2",
            "n": "N0",
            "m": "M1a",
            "stage_group": "IVA",
            "edition": "ajcc-8",
            "staged_on": "2026-01-05",
        },
        format="json",
    )
    assert staged.status_code == 201
    assert staged.json()["current_staging"]["clinical"]["summary"] == "cT2 cN0 cM1a, stage IVA, AJCC 8th edition"
    comorbid = client.post(
        f"/api/v1/cases/{case.pk}/coding/comorbidities/", {"icd10": {"system": ICD10CM, "code": "N18.6"}}, format="json"
    )
    assert [c["icd10"]["code"] for c in comorbid.json()["comorbidities"]] == ["N18.6"]
    removed = client.post(
        f"/api/v1/cases/{case.pk}/coding/comorbidities/remove/",
        {"diagnosis": comorbid.json()["comorbidities"][0]["id"], "reason": "Coded in error."},
        format="json",
    )
    assert removed.json()["comorbidities"] == []
    assert "case.coding_view" not in audit_actions(case_id=case.pk)
    client.get(f"/api/v1/cases/{case.pk}/coding/")
    assert "case.coding_view" in audit_actions(case_id=case.pk)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"icd10": {"system": ICDO3, "code": "C40.22"}}, "icd10"),
        ({"icd10": "C40.22"}, "icd10"),
        ({"icd10": {"system": ICD10CM, "code": "C99.99"}}, "icd10_code"),
        ({"laterality": {"system": SNOMED, "code": "123"}}, "laterality"),
    ],
)
def test_the_api_refuses_a_code_of_the_wrong_system_or_outside_its_list(api, case, coordinator, body, field):
    response = api(coordinator).post(f"/api/v1/cases/{case.pk}/coding/primary/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert m.Diagnosis.objects.count() == 0


def test_pathology_reports_over_the_api_carry_coded_fields(api, case, pathologist):
    response = api(pathologist).post(
        "/api/v1/pathology-reports/",
        {
            "case": case.pk,
            "specimen": "Mass",
            "procedure": "Biopsy",
            "collected_on": "2026-11-01",
            "diagnosis": "Osteosarcoma.",
            "topography": {"system": ICDO3, "code": "C40.2"},
            "morphology": {"system": ICDO3, "code": "9180/3"},
            "laterality": {"system": SNOMED, "code": "24028007"},
            "status": "final",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["morphology"]["code"] == "9180/3" and body["laterality"]["code"] == "24028007"
    assert body["icdo3_needs_review"] is False


def test_code_search_over_the_api(api, coordinator):
    response = api(coordinator).get("/api/v1/codes/search/?list=icd-10-cm&q=end stage renal")
    assert {"system": ICD10CM, "code": "N18.6", "display": "End stage renal disease"} in response.json()


# Portal --------------------------------------------------------------------------------------


def test_the_portal_codes_a_diagnosis_without_javascript(signed_in, case, coordinator):
    client = signed_in(coordinator)
    page = client.get(f"/cases/{case.pk}/coding/")
    assert page.status_code == 200 and b'data-code-list="icd-10-cm"' in page.content
    response = client.post(
        f"/cases/{case.pk}/coding/primary/",
        {"icd10_code": "C40.22", "morphology": "9180/3", "laterality": "left", "text": ""},
    )
    assert response.status_code == 302
    refused = client.post(f"/cases/{case.pk}/coding/comorbidities/", {"icd10_code": "C99.99"})
    assert refused.status_code == 400 and b"C99.99 is not an ICD-10-CM code." in refused.content
    staged = client.post(
        f"/cases/{case.pk}/coding/staging/",
        {"kind": "clinical", "t": "T1", "n": "N0", "m": "M0", "edition": "ajcc-8", "staged_on": "2026-01-05"},
    )
    assert staged.status_code == 302
    page = client.get(f"/cases/{case.pk}/coding/")
    assert b"cT1 cN0 cM0, AJCC 8th edition" in page.content and b"long bones of left lower limb" in page.content


def test_the_code_search_page_works_without_javascript_and_as_json(signed_in, coordinator):
    client = signed_in(coordinator)
    page = client.get("/codes/search/?list=icd-10-cm&q=N18.6")
    assert b"End stage renal disease" in page.content
    data = json.loads(client.get("/codes/search/?list=icd-10-cm&q=N18.6&format=json").content)
    assert data["results"][0]["code"] == "N18.6"


def test_a_member_of_another_board_sees_no_coding_page(signed_in, case, outsider):
    assert signed_in(outsider).get(f"/cases/{case.pk}/coding/").status_code == 404
    assert (
        signed_in(outsider).post(f"/cases/{case.pk}/coding/comorbidities/", {"icd10_code": "N18.6"}).status_code == 404
    )
