"""`/api/v1/teaching-sets/`: the same flow as the portal, over JSON."""

import pytest

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions, pdf_pages_text


@pytest.fixture
def reviewer(chair):
    m.BoardMembership.objects.filter(user=chair).update(reviews_teaching=True)
    chair.__dict__.pop("_tb_memberships", None)
    return chair


@pytest.fixture
def named_case(board, coordinator, pathologist):
    patient = f.PatientFactory(given_name="Ottilie", family_name="Brask", mrn="TB-5580311", registered_board=board)
    case = f.CaseFactory(board=board, patient=patient, created_by=coordinator,
                         history="Ottilie Brask, MRN TB-5580311, treated for osteosarcoma.")  # fmt: skip
    f.PathologyReportFactory(case=case, pathologist=pathologist, diagnosis="Tumoral calcinosis.")
    return case


def etag(body) -> str:
    return f'"teachingset-{body["id"]}-v{body["version"]}"'


def create(client, case, **extra):
    return client.post("/api/v1/teaching-sets/", {"cases": [case.pk], **extra}, format="json")


def test_the_flow_create_preview_edit_approve_print(api, radiologist, reviewer, named_case):
    prep = api(radiologist)
    history = f"case.{named_case.pk}.history"
    created = create(prep, named_case, include=[history])
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and len(body["codes"]) == 1
    field = next(x for x in body["cases"][0]["fields"] if x["key"] == history)
    assert field["original"].startswith("Ottilie Brask") and field["included"]
    assert field["text"] == "[name], MRN [record number], treated for osteosarcoma." == field["suggested"]

    edited = prep.post(f"/api/v1/teaching-sets/{body['id']}/texts/",
                       {"field": history, "text": "A young woman treated for osteosarcoma."}, format="json",
                       HTTP_IF_MATCH=etag(body))  # fmt: skip
    assert edited.status_code == 200, edited.json()
    body = edited.json()

    blocked = api(reviewer).get(f"/api/v1/teaching-sets/{body['id']}/pdf")
    assert blocked.status_code == 409 and blocked.json()["code"] == "not_approved"

    own = prep.post(f"/api/v1/teaching-sets/{body['id']}/approve/", HTTP_IF_MATCH=etag(body))
    assert own.status_code == 403
    approved = api(reviewer).post(f"/api/v1/teaching-sets/{body['id']}/approve/", HTTP_IF_MATCH=etag(body))
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"

    pdf = api(radiologist).get(f"/api/v1/teaching-sets/{body['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="teaching-sarcoma-board.pdf"'
    text = " ".join(pdf_pages_text(pdf.content))
    assert "A young woman treated for osteosarcoma." in text and "Brask" not in text
    assert audit_actions(action__startswith="teaching_set") == [
        "teaching_set.create",
        "teaching_set.text_edit",
        "teaching_set.approve",
        "teaching_set.print",
    ]


def test_the_preview_is_a_read_of_patient_data_and_is_audited(api, radiologist, named_case):
    body = create(api(radiologist), named_case).json()
    assert api(radiologist).get(f"/api/v1/teaching-sets/{body['id']}/").status_code == 200
    assert audit_actions(action="teaching_set.view") == ["teaching_set.view"]


def test_an_outsider_gets_not_found_everywhere(api, radiologist, outsider, named_case):
    body = create(api(radiologist), named_case).json()
    client = api(outsider)
    assert create(client, named_case).status_code == 404
    for path in ("", "pdf"):
        assert client.get(f"/api/v1/teaching-sets/{body['id']}/{path}").status_code == 404
    for action in ("texts", "images", "approve"):
        assert client.post(f"/api/v1/teaching-sets/{body['id']}/{action}/", {}, format="json").status_code == 404
    assert client.get("/api/v1/teaching-sets/").json()["results"] == []


def test_approval_needs_the_version_reviewed(api, radiologist, reviewer, named_case):
    body = create(api(radiologist), named_case).json()
    missing = api(reviewer).post(f"/api/v1/teaching-sets/{body['id']}/approve/")
    assert missing.status_code == 428
    stale = api(reviewer).post(f"/api/v1/teaching-sets/{body['id']}/approve/",
                               HTTP_IF_MATCH=f'"teachingset-{body["id"]}-v9"')  # fmt: skip
    assert stale.status_code == 412
    assert m.TeachingSet.objects.get().status == "draft"


def test_an_image_needs_the_confirmation(api, radiologist, named_case):
    study = f.ImagingStudyFactory(case=named_case, radiologist=radiologist)
    image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
    body = create(api(radiologist), named_case).json()
    path = f"/api/v1/teaching-sets/{body['id']}/images/"
    refused = api(radiologist).post(path, {"key_image": image.pk}, format="json")
    assert refused.status_code == 400 and "no_burned_in_identifiers" in refused.json()
    done = api(radiologist).post(path, {"key_image": image.pk, "no_burned_in_identifiers": True}, format="json")
    assert done.status_code == 200
    assert done.json()["cases"][0]["images"] == [
        {"key_image": image.pk, "included": True, "caption_key": f"key_image.{image.pk}.caption"}
    ]


@pytest.mark.parametrize("sets", [1, 8])
def test_the_list_pins_its_query_count(api, radiologist, board, django_assert_num_queries, sets):
    client = api(radiologist)
    for _ in range(sets):
        create(client, f.CaseFactory(board=board))
    # Session, user, memberships, count, page, the page's teaching cases; auth bookkeeping.
    with django_assert_num_queries(10):  # +1 since issue 11: the list read is audited
        response = client.get("/api/v1/teaching-sets/")
    assert response.json()["count"] == sets


@pytest.mark.parametrize("cases", [1, 4])
def test_the_preview_pins_its_query_count(api, radiologist, board, pathologist, django_assert_num_queries, cases):
    rows = []
    for _ in range(cases):
        case = f.CaseFactory(board=board)
        study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
        m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
        f.PathologyReportFactory(case=case, pathologist=pathologist)
        f.OpinionFactory(case=case, author=radiologist)
        rows.append(case)
    client = api(radiologist)
    body = client.post("/api/v1/teaching-sets/", {"cases": [c.pk for c in rows]}, format="json").json()
    # Session, user, memberships; the set and its cases, texts, images; each record table once; the audit row.
    with django_assert_num_queries(18):  # issue 11: the read audit is one insert
        response = client.get(f"/api/v1/teaching-sets/{body['id']}/")
    assert len(response.json()["cases"]) == cases
