"""Malformed input gets a clear JSON error and changes nothing; no input produces a 500."""

import json

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from cases import models as m
from tests import factories as f

HUGE = 10**30


@pytest.fixture
def client(api, coordinator):
    return api(coordinator)


def test_the_openapi_schema_validates_and_the_docs_page_serves(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert "/api/v1/cases/{id}/transition/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    assert client.get("/api/docs/").status_code == 200


def test_invalid_json_is_a_parse_error(client):
    response = client.post("/api/v1/cases/", data='{"patient": 1,', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_wrong_content_type_is_refused(client):
    response = client.post("/api/v1/cases/", data="patient=1", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_body_that_is_not_an_object_is_a_field_error(client):
    response = client.post("/api/v1/cases/", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_unknown_fields_are_named_and_refused(client, board):
    patient = f.PatientFactory(registered_board=board)
    response = client.post("/api/v1/cases/", {"patient": patient.pk, "board": board.pk, "diagnossis": "x"})
    assert response.status_code == 400
    assert response.json() == {"diagnossis": ["Unknown field."]}
    assert not m.Case.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"patient": HUGE},
        {"patient": "one"},
        {"patient": None},
        {"patient": [1], "board": {"id": 1}},
        {"patient": 1.5, "board": True},
    ],
)
def test_ids_of_the_wrong_type_or_size_are_field_errors(client, board, body):
    response = client.post("/api/v1/cases/", {"board": board.pk, **body})
    assert response.status_code == 400
    assert "patient" in response.json()


def test_huge_ids_in_paths_filters_and_pages_are_not_found_or_refused(client):
    assert client.get(f"/api/v1/cases/{HUGE}/").status_code == 404
    assert client.get(f"/api/v1/cases/{2**63}/").status_code == 404
    assert client.get(f"/api/v1/cases/?board={HUGE}").status_code == 400
    assert client.get(f"/api/v1/cases/?page={HUGE}").status_code == 404
    assert client.get(f"/api/v1/cases/?page_size={HUGE}").status_code == 200


def test_nul_bytes_are_refused_in_bodies_and_query_strings(client, case):
    response = client.patch(f"/api/v1/cases/{case.pk}/", {"history": "a\x00b"}, HTTP_IF_MATCH=f'"case-{case.pk}-v1"')
    assert response.status_code == 400 and "history" in response.json()
    assert client.get("/api/v1/cases/?search=a%00b").status_code == 400


def test_field_errors_from_the_services_keep_drf_shape(client, board):
    body = {"board": board.pk, "starts_at": "2030-01-01T10:00:00+01:00"}  # neither place nor link
    response = client.post("/api/v1/meetings/", body)
    assert response.status_code == 400
    assert all(isinstance(messages, list) for messages in response.json().values())


def test_an_unknown_api_path_answers_json(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_method_not_allowed_answers_json(client):
    response = client.delete("/api/v1/cases/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# Key images ------------------------------------------------------------------------------


@pytest.fixture
def study(make_case, radiologist):
    return f.ImagingStudyFactory(case=make_case("imaging"), radiologist=radiologist)


def test_a_radiologist_attaches_a_key_image(api, radiologist, study):
    response = api(radiologist).post(
        f"/api/v1/imaging-studies/{study.pk}/key-images/",
        {"image": f.png_upload(), "caption": "Lobulated calcification"},
        format="multipart",
    )
    assert response.status_code == 201
    assert (response.json()["width"], response.json()["height"]) == (40, 30)
    assert study.key_images.get().caption == "Lobulated calcification"


def test_a_file_that_is_not_an_image_is_refused(api, radiologist, study):
    fake = f.SimpleUploadedFile("scan.png", b"%PDF-1.7 not an image", content_type="image/png")
    response = api(radiologist).post(
        f"/api/v1/imaging-studies/{study.pk}/key-images/", {"image": fake, "caption": "x"}, format="multipart"
    )
    assert response.status_code == 400
    assert "image" in response.json()
    assert not study.key_images.exists()


def test_an_image_over_the_size_limit_is_refused(api, radiologist, study, settings):
    settings.KEY_IMAGE_MAX_BYTES = 100
    response = api(radiologist).post(
        f"/api/v1/imaging-studies/{study.pk}/key-images/",
        {"image": f.png_upload(size=(400, 400)), "caption": "x"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "limit" in response.json()["image"][0]


def test_a_key_image_sent_as_json_is_refused(api, radiologist, study):
    response = api(radiologist).post(f"/api/v1/imaging-studies/{study.pk}/key-images/", {"image": "x", "caption": "c"})
    assert response.status_code == 415


def test_errors_are_json_for_anonymous_clients_too(db):
    response = APIClient().post("/api/v1/cases/", data="{", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_that_overflow_utc_are_refused_in_filters_and_bodies(client, board, moment):
    assert client.get("/api/v1/cases/", {"updated_after": moment}).status_code == 400
    assert client.get("/api/v1/meetings/", {"starts_after": moment}).status_code == 400
    body = {"board": board.pk, "starts_at": moment, "location": "Room"}
    assert client.post("/api/v1/meetings/", body).status_code == 400


def test_a_surveillance_start_that_would_run_off_the_calendar_is_refused(client, case):
    template = m.FollowUpTemplate.objects.first()
    body = {"case": case.pk, "template": template.code, "start_on": "9999-06-01"}
    response = client.post("/api/v1/follow-ups/apply-template/", body)
    assert response.status_code == 400 and "start_on" in response.json()
    assert not m.FollowUp.objects.exists()


def test_a_meeting_in_another_century_is_refused_whatever_its_offset(client, board):
    """Found by make fuzz: '1380-…+22:45' reached PostgreSQL, which cannot store that offset (500)."""
    moment = "1380-02-27T21:19:23.640000+22:45"
    response = client.post("/api/v1/meetings/", {"board": board.pk, "starts_at": moment, "location": "Room"})
    assert response.status_code == 400 and "starts_at" in response.json()
    assert not m.Meeting.objects.exists()
    assert client.get("/api/v1/meetings/", {"starts_after": moment}).status_code == 200


def test_times_are_stored_in_utc_whatever_offset_they_came_with(client, board):
    body = {"board": board.pk, "starts_at": "2027-02-27T21:19:23+13:45", "location": "Room"}
    response = client.post("/api/v1/meetings/", body)
    assert response.status_code == 201
    assert m.Meeting.objects.get().starts_at.isoformat() == "2027-02-27T07:34:23+00:00"


def test_api_route_names_do_not_shadow_the_portals():
    from django.urls import reverse

    assert reverse("case-detail", args=[1]) == "/cases/1/"
    assert reverse("api:case-detail", args=[1]) == "/api/v1/cases/1/"


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/v1/follow-ups/apply-template/", "start_on", "2200-01-01"),
        ("/api/v1/meetings/", "starts_at", "2200-01-05T16:00:00Z"),
    ],
)
def test_every_entry_point_holds_dates_to_one_calendar(client, case, board, path, field, value):
    """One rule (cases.models.dates): 1900 to 2199, whatever the record. Schedules once ran to 2999 and
    meetings stopped at 2000."""
    body = {
        "/api/v1/follow-ups/apply-template/": {"case": case.pk, "template": m.FollowUpTemplate.objects.first().code},
        "/api/v1/meetings/": {"board": board.pk, "location": "Room 2"},
    }[path] | {field: value}
    counts = (m.FollowUp.objects.count(), m.Meeting.objects.count())
    response = client.post(path, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert "1900" in str(response.json()[field]) and "2199" in str(response.json()[field])
    assert (m.FollowUp.objects.count(), m.Meeting.objects.count()) == counts
