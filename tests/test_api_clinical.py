"""Imaging, pathology (add, edit, sign out, amend) and specialty input over the API."""

import pytest

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions

REPORT = {"specimen": "Soft-tissue mass", "procedure": "Core biopsy", "collected_on": "2026-01-10", "diagnosis": "x"}


def test_a_radiologist_adds_an_imaging_study(api, radiologist, make_case):
    case = make_case("imaging")
    body = {
        "case": case.pk,
        "modality": "CT",
        "body_site": "Left knee",
        "performed_on": "2026-01-05",
        "impression": "i",
    }
    response = api(radiologist).post("/api/v1/imaging-studies/", body)
    assert response.status_code == 201
    assert response.json()["radiologist"]["username"] == "radiologist"
    assert "imaging.create" in audit_actions(case_id=case.pk)


def test_a_coordinator_cannot_add_imaging(api, coordinator, make_case):
    case = make_case("imaging")
    body = {"case": case.pk, "modality": "CT", "body_site": "Knee", "performed_on": "2026-01-05"}
    assert api(coordinator).post("/api/v1/imaging-studies/", body).status_code == 403


def test_imaging_of_a_case_on_another_board_is_not_found(api, outsider, make_case):
    body = {"case": make_case("imaging").pk, "modality": "CT", "body_site": "Knee", "performed_on": "2026-01-05"}
    assert api(outsider).post("/api/v1/imaging-studies/", body).status_code == 404


def test_the_imaging_list_runs_the_same_queries_for_35_studies(api, coordinator, case, django_assert_num_queries):
    for _ in range(35):
        m.KeyImage.objects.create(study=f.ImagingStudyFactory(case=case), image=f.png_upload(), caption="c")
    client = api(coordinator)
    with django_assert_num_queries(
        10
    ):  # +3 session save, +1 audit event; session, user, memberships, count, page, key images
        response = client.get(f"/api/v1/imaging-studies/?case={case.pk}&page_size=50")
    assert len(response.json()["results"]) == 35


def test_an_amended_study_and_its_original_are_told_apart_in_the_api(
    api, coordinator, radiologist, case, django_assert_num_queries
):
    from cases.services import imaging

    original = f.ImagingStudyFactory(case=case, body_site="Right knee")
    amended = imaging.imaging_study_amend(
        study=original, by=radiologist, body_site="Left knee", amendment_reason="Wrong side."
    )
    for _ in range(5):  # more originals and amendments: the query count stays the same
        imaging.imaging_study_amend(study=f.ImagingStudyFactory(case=case), by=radiologist, amendment_reason="x.",
                                    impression="Corrected.")  # fmt: skip
    client = api(coordinator)
    with django_assert_num_queries(10):
        rows = {row["id"]: row for row in client.get(f"/api/v1/imaging-studies/?case={case.pk}").json()["results"]}
    assert (rows[original.pk]["is_current"], rows[original.pk]["superseded_by"]) == (False, amended.pk)
    assert (rows[amended.pk]["is_current"], rows[amended.pk]["supersedes"]) == (True, original.pk)
    assert rows[amended.pk]["amendment_reason"] == "Wrong side."
    detail = {s["id"]: s for s in client.get(f"/api/v1/cases/{case.pk}/").json()["imaging_studies"]}
    assert detail[original.pk]["superseded_by"] == amended.pk and detail[amended.pk]["is_current"]


def test_a_pathologist_adds_and_signs_out_a_report(api, pathologist, make_case):
    case = make_case("pathology")
    client = api(pathologist)
    response = client.post("/api/v1/pathology-reports/", {"case": case.pk, **REPORT})
    assert response.status_code == 201 and response.json()["status"] == "preliminary"
    report_id = response.json()["id"]
    signed = client.post(f"/api/v1/pathology-reports/{report_id}/sign-out/", HTTP_IF_MATCH=response["ETag"])
    assert signed.status_code == 200
    assert signed.json()["status"] == "final" and signed.json()["signed_out_at"]
    assert client.post(f"/api/v1/pathology-reports/{report_id}/sign-out/").json()["code"] == "report_signed_out"


def test_a_preliminary_report_is_edited_with_if_match_and_a_final_one_is_not(api, pathologist, make_case):
    case = make_case("pathology", report_status="preliminary")
    report = case.pathology_reports.get()
    client = api(pathologist)
    etag = client.get(f"/api/v1/pathology-reports/{report.pk}/")["ETag"]
    edited = client.patch(f"/api/v1/pathology-reports/{report.pk}/", {"diagnosis": "Revised text"}, HTTP_IF_MATCH=etag)
    assert edited.status_code == 200 and edited.json()["diagnosis"] == "Revised text"
    client.post(f"/api/v1/pathology-reports/{report.pk}/sign-out/")
    refused = client.patch(
        f"/api/v1/pathology-reports/{report.pk}/",
        {"diagnosis": "again"},
        HTTP_IF_MATCH=f'"pathologyreport-{report.pk}-v3"',
    )
    assert refused.status_code == 409 and refused.json()["code"] == "report_signed_out"


def test_amending_creates_a_new_report_and_keeps_the_original_readable(api, pathologist, make_case):
    case = make_case("consensus")
    original = case.pathology_reports.get()
    client = api(pathologist)
    body = {"diagnosis": "Tumoral calcinosis; no tumour.", "amendment_reason": "Board review", "discrepancy": "major"}
    response = client.post(f"/api/v1/pathology-reports/{original.pk}/amend/", body)
    assert response.status_code == 201
    amended = response.json()
    assert (amended["status"], amended["supersedes"], amended["is_current"]) == ("amended", original.pk, True)
    old = client.get(f"/api/v1/pathology-reports/{original.pk}/").json()
    assert (old["superseded_by"], old["is_current"], old["diagnosis"]) == (amended["id"], False, original.diagnosis)
    case.refresh_from_db()
    assert case.stage == "revised_pathology"
    again = client.post(f"/api/v1/pathology-reports/{original.pk}/amend/", body)
    assert again.status_code == 409 and again.json()["code"] == "report_superseded"


def test_an_amendment_needs_a_reason_and_a_discrepancy_class(api, pathologist, make_case):
    report = make_case("pathology").pathology_reports.get()
    response = api(pathologist).post(f"/api/v1/pathology-reports/{report.pk}/amend/", {"diagnosis": "d"})
    assert response.status_code == 400
    assert {"amendment_reason", "discrepancy"} <= set(response.json())


def test_only_a_pathologist_amends(api, radiologist, make_case):
    report = make_case("pathology").pathology_reports.get()
    body = {"diagnosis": "d", "amendment_reason": "r", "discrepancy": "minor"}
    assert api(radiologist).post(f"/api/v1/pathology-reports/{report.pk}/amend/", body).status_code == 403


def test_the_pathology_list_runs_the_same_queries_for_35_reports(api, coordinator, case, django_assert_num_queries):
    previous = None
    for _ in range(35):
        previous = f.PathologyReportFactory(
            case=case,
            supersedes=previous,
            status="amended" if previous else "final",
            amendment_reason="r" if previous else "",
            discrepancy="minor" if previous else "",
        )
    client = api(coordinator)
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        response = client.get("/api/v1/pathology-reports/?page_size=50")
    rows = response.json()["results"]
    assert len(rows) == 35 and sum(row["is_current"] for row in rows) == 1


def test_a_clinician_records_input_for_their_own_specialty_once(api, orthopaedic, case):
    client = api(orthopaedic)
    response = client.post("/api/v1/opinions/", {"case": case.pk, "assessment": "Callus, not relapse."})
    assert response.status_code == 201
    assert response.json()["specialty"] == "orthopaedic_oncology"
    again = client.post("/api/v1/opinions/", {"case": case.pk, "assessment": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "opinion_exists"


def test_only_the_author_edits_their_input_and_only_with_the_current_etag(api, orthopaedic, radonc, case):
    opinion = f.OpinionFactory(case=case, specialty="orthopaedic_oncology", author=orthopaedic)
    etag = f'"opinion-{opinion.pk}-v1"'
    assert (
        api(radonc).patch(f"/api/v1/opinions/{opinion.pk}/", {"assessment": "x"}, HTTP_IF_MATCH=etag).status_code == 403
    )
    client = api(orthopaedic)
    edited = client.patch(f"/api/v1/opinions/{opinion.pk}/", {"recommendation": "Revise"}, HTTP_IF_MATCH=etag)
    assert edited.status_code == 200 and edited["ETag"] == f'"opinion-{opinion.pk}-v2"'
    stale = client.patch(f"/api/v1/opinions/{opinion.pk}/", {"recommendation": "lost"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


def test_a_coordinator_records_no_specialty_input(api, coordinator, case):
    assert api(coordinator).post("/api/v1/opinions/", {"case": case.pk, "assessment": "x"}).status_code == 403


@pytest.mark.parametrize("rows", [1, 35])
def test_the_opinion_list_runs_the_same_queries(rows, api, coordinator, board, django_assert_num_queries):
    for _ in range(rows):
        f.OpinionFactory(case=f.CaseFactory(board=board))
    client = api(coordinator)
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        assert len(client.get("/api/v1/opinions/").json()["results"]) == rows
