"""Creates happen once: a double click, Back-and-resubmit, or a client's retry finds the first result."""

import re
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from cases import models as m
from cases.web.common import REPEATED
from tests import factories as f


def token_of(response) -> str:
    match = re.search(r'name="once" value="([^"]+)"', response.content.decode())
    assert match, "the create form carries no one-time token"
    return match.group(1)


def patient_form(board, **overrides):
    return {
        "board": board.pk,
        "mrn": "SYN-IDEM-1",
        "given_name": "Ilse",
        "family_name": "Varga",
        "birth_date": "1984-03-02",
        "sex": "female",
    } | overrides


# The portal's one-time token ---------------------------------------------------------------------


def test_registering_a_patient_twice_with_the_same_form_makes_one_patient(signed_in, board, coordinator):
    client = signed_in(coordinator)
    token = token_of(client.get(reverse("patient-new")))
    first = client.post(reverse("patient-new"), patient_form(board, once=token))
    second = client.post(reverse("patient-new"), patient_form(board, once=token))
    patient = m.Patient.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("case-new", args=[patient.pk])
    assert REPEATED in [str(message) for message in get_messages(second.wsgi_request)]
    assert m.AuditEvent.objects.filter(action="patient.create").count() == 1


def test_back_and_resubmit_of_a_case_points_to_the_case_the_first_submit_made(signed_in, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = signed_in(coordinator)
    url = reverse("case-new", args=[patient.pk])
    token = token_of(client.get(url))
    data = {"board": board.pk, "priority": "routine", "clinical_question": "Relapse?", "once": token}
    first = client.post(url, data)
    # Back, change a word, send again: the same form, so still the first case.
    second = client.post(url, data | {"clinical_question": "Relapse or callus?", "confirm_second_case": "on"})
    case = m.Case.objects.get()
    assert first["Location"] == second["Location"] == reverse("case-detail", args=[case.pk])
    assert case.clinical_question == "Relapse?"


def test_a_refused_form_keeps_its_token_and_the_corrected_one_creates(signed_in, board, coordinator):
    client = signed_in(coordinator)
    token = token_of(client.get(reverse("patient-new")))
    refused = client.post(reverse("patient-new"), patient_form(board, once=token, birth_date=""))
    assert refused.status_code == 400
    assert token_of(refused) == token
    assert not m.IdempotencyKey.objects.exists()
    client.post(reverse("patient-new"), patient_form(board, once=token))
    assert m.Patient.objects.count() == 1


def test_two_forms_opened_separately_make_two_objects(signed_in, board, coordinator):
    client = signed_in(coordinator)
    for n in (1, 2):
        token = token_of(client.get(reverse("meeting-new")))
        client.post(
            reverse("meeting-new"),
            {"board": board.pk, "starts_at": f"2099-0{n}-01T14:00", "location": "Room 4", "once": token},
        )
    assert m.Meeting.objects.count() == 2


def test_a_broken_token_is_refused_and_changes_nothing(signed_in, board, coordinator):
    response = signed_in(coordinator).post(reverse("patient-new"), patient_form(board, once="<script>"))
    assert response.status_code == 400
    assert not m.Patient.objects.exists()


def test_another_users_token_does_not_reach_their_object(signed_in, board, coordinator):
    client = signed_in(coordinator)
    token = token_of(client.get(reverse("patient-new")))
    client.post(reverse("patient-new"), patient_form(board, once=token))
    other = f.MembershipFactory(board=board, role=m.Role.COORDINATOR, specialty="").user
    client.force_login(other)
    client.post(reverse("patient-new"), patient_form(board, once=token, mrn="SYN-IDEM-2"))
    assert m.Patient.objects.count() == 2


def test_every_create_form_carries_a_token(signed_in, board, coordinator, radiologist, pathologist, chair, outsider):
    case = f.CaseFactory(board=board)
    meeting = f.MeetingFactory(board=board)
    pages = [
        (coordinator, reverse("patient-new")),
        (coordinator, reverse("case-new", args=[case.patient_id])),
        (coordinator, reverse("meeting-new")),
        (coordinator, reverse("meeting-detail", args=[meeting.pk])),
        (coordinator, reverse("surveillance-apply", args=[case.pk])),
        (radiologist, reverse("imaging-new", args=[case.pk])),
        (radiologist, reverse("opinion-edit", args=[case.pk])),
        (pathologist, reverse("pathology-new", args=[case.pk])),
        (chair, reverse("decision-edit", args=[case.pk])),
        (radiologist, reverse("teaching-new-case", args=[case.pk])),
        (radiologist, reverse("teaching-new-meeting", args=[meeting.pk])),
        (outsider, reverse("break-glass-new")),
    ]
    for user, url in pages:
        assert token_of(signed_in(user).get(url)), url


def test_preparing_a_teaching_set_twice_with_the_same_form_makes_one_set(signed_in, board, radiologist):
    case = f.CaseFactory(board=board)
    client = signed_in(radiologist)
    url = reverse("teaching-new-case", args=[case.pk])
    token = token_of(client.get(url))
    first = client.post(url, {"once": token})
    second = client.post(url, {"once": token, "other_identifiers": "Aldo"})
    teaching_set = m.TeachingSet.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("teaching-detail", args=[teaching_set.pk])
    assert REPEATED in [str(message) for message in get_messages(second.wsgi_request)]
    assert m.AuditEvent.objects.filter(action="teaching_set.create").count() == 1


def test_preparing_a_meetings_teaching_set_twice_with_the_same_form_makes_one_set(signed_in, board, radiologist):
    meeting = f.MeetingFactory(board=board)
    cases = [f.CaseFactory(board=board) for _ in range(2)]
    for position, case in enumerate(cases, start=1):
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=position)
    client = signed_in(radiologist)
    url = reverse("teaching-new-meeting", args=[meeting.pk])
    token = token_of(client.get(url))
    data = {"cases": [c.pk for c in cases], "once": token}
    first, second = client.post(url, data), client.post(url, data)
    teaching_set = m.TeachingSet.objects.get()
    assert first["Location"] == second["Location"] == reverse("teaching-detail", args=[teaching_set.pk])
    assert teaching_set.cases.count() == 2


def test_opening_emergency_access_twice_with_the_same_form_opens_one(
    signed_in, outsider, board, django_capture_on_commit_callbacks
):
    patient = f.PatientFactory(registered_board=board)
    client = signed_in(outsider)
    token = token_of(client.get(reverse("break-glass-new")))
    data = {"mrn": patient.mrn, "reason": "Seen in the emergency department with a fracture.", "once": token}
    with django_capture_on_commit_callbacks(execute=True):
        first, second = client.post(reverse("break-glass-new"), data), client.post(reverse("break-glass-new"), data)
    access = m.BreakGlassAccess.objects.get()
    assert first["Location"] == second["Location"] == reverse("break-glass-detail", args=[access.pk])
    assert REPEATED in [str(message) for message in get_messages(second.wsgi_request)]
    assert m.AuditEvent.objects.filter(action="break_glass.open").count() == 1
    assert m.Job.objects.filter(kind="break_glass.notify").count() == 1


def test_an_emergency_access_to_no_one_is_still_recorded_when_the_form_carries_a_token(signed_in, outsider):
    client = signed_in(outsider)
    token = token_of(client.get(reverse("break-glass-new")))
    data = {"mrn": "SYN-NOBODY-1", "reason": "Seen in the emergency department.", "once": token}
    refused = client.post(reverse("break-glass-new"), data)
    assert refused.status_code == 400 and token_of(refused) == token
    assert m.AuditEvent.objects.filter(action="access.break_glass_not_found").count() == 1
    assert not m.BreakGlassAccess.objects.exists() and not m.IdempotencyKey.objects.exists()


# The API's Idempotency-Key ---------------------------------------------------------------------


def case_body(patient, board):
    return {"patient": patient.pk, "board": board.pk, "clinical_question": "Relapse?"}


def test_the_same_key_and_body_answer_the_first_result(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = api(coordinator)
    first = client.post("/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] == m.Case.objects.get().pk
    assert again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"]


def test_the_same_key_with_another_body_is_refused(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = api(coordinator)
    client.post("/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = case_body(patient, board) | {"clinical_question": "Something else?"}
    refused = client.post("/api/v1/cases/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_key_reused"
    assert "different request" in refused.json()["detail"]
    assert m.Case.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = api(coordinator)
    client.post("/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    body = {"board": board.pk, "starts_at": "2099-01-01T14:00:00Z", "location": "Room 4"}
    refused = client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert refused.status_code == 422
    assert not m.Meeting.objects.exists()


def test_without_a_key_every_post_creates(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = api(coordinator)
    for _ in range(2):
        client.post("/api/v1/cases/", case_body(patient, board), format="json")
    assert m.Case.objects.count() == 2


def test_a_refused_create_leaves_the_key_free(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    client = api(coordinator)
    refused = client.post(
        "/api/v1/cases/", case_body(patient, board) | {"priority": "soon"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
    )
    assert refused.status_code == 400
    created = client.post("/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert created.status_code == 201


def test_a_key_that_is_not_printable_ascii_is_refused(api, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    refused = api(coordinator).post(
        "/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="x" * 101
    )
    assert refused.status_code == 400
    assert "Idempotency-Key" in refused.json()
    assert not m.Case.objects.exists()


def test_a_retried_teaching_set_create_makes_one_set(api, board, radiologist):
    cases = [f.CaseFactory(board=board) for _ in range(2)]
    client = api(radiologist)
    body = {"cases": [c.pk for c in cases]}
    first = client.post("/api/v1/teaching-sets/", body, format="json", HTTP_IDEMPOTENCY_KEY="teach-1")
    again = client.post("/api/v1/teaching-sets/", body, format="json", HTTP_IDEMPOTENCY_KEY="teach-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] == m.TeachingSet.objects.get().pk
    assert again.json()["cases"] == first.json()["cases"]
    refused = client.post("/api/v1/teaching-sets/", {"cases": [cases[0].pk]}, format="json",
                          HTTP_IDEMPOTENCY_KEY="teach-1")  # fmt: skip
    assert refused.status_code == 422 and m.TeachingSet.objects.count() == 1


def test_a_retried_key_image_upload_keeps_one_image(api, board, radiologist):
    study = f.ImagingStudyFactory(case=f.CaseFactory(board=board))
    client = api(radiologist)
    url = f"/api/v1/imaging-studies/{study.pk}/key-images/"
    for _ in range(2):
        # A new multipart boundary each time: the fingerprint reads the fields and the file, not the bytes.
        response = client.post(
            url,
            {"image": f.png_upload(), "caption": "Lobular calcification"},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="img-1",
        )
        assert response.status_code == 201
    assert study.key_images.count() == 1


def test_the_schema_documents_the_header_on_creates(api, coordinator):
    schema = api(coordinator).get("/api/schema/", HTTP_ACCEPT="application/json")
    if schema.status_code != 200:
        pytest.skip("the schema is not served here")
    operation = schema.json()["paths"]["/api/v1/cases/"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert "422" in operation["responses"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_posts_with_one_key_make_one_case(postgres_only, board, coordinator):
    patient = f.PatientFactory(registered_board=board)
    barrier, answers = threading.Barrier(2), []

    def post():
        try:
            client = APIClient()
            client.force_login(coordinator)
            barrier.wait(timeout=10)
            response = client.post(
                "/api/v1/cases/", case_body(patient, board), format="json", HTTP_IDEMPOTENCY_KEY="race-1"
            )
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert m.Case.objects.count() == 1
    assert answers == [(201, m.Case.objects.get().pk)] * 2
