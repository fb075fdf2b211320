"""The two PDF downloads of the API: `GET /cases/{id}/summary.pdf` and `GET /meetings/{id}/packet.pdf`.

Real PDFs, read back with pypdf: who may download them, what they contain, the refusals, and the
audit events they leave.
"""

import io

import pytest
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions

PATIENT = ("Ines", "Quillfeather", "PRN-000100")  # of the case summaries
PATIENTS = [("Tobias", "Marchbank", "PRN-000101"), ("Oda", "Vennholt", "PRN-000102")]  # of the packets


def text_of(content: bytes) -> str:
    """The text of every page, whitespace folded, as pypdf reads it."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def page_count(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def named_case(board, coordinator):
    given, family, mrn = PATIENT
    return f.CaseFactory(
        board=board,
        created_by=coordinator,
        patient__given_name=given,
        patient__family_name=family,
        patient__mrn=mrn,
    )


def agenda_meeting(board, coordinator, patients, *, published=False):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    for position, (given, family, mrn) in enumerate(patients, start=1):
        case = f.CaseFactory(board=board, patient__given_name=given, patient__family_name=family, patient__mrn=mrn)
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=position)
    if published:
        meeting.agenda_published_at = timezone.now()
        meeting.save()
    return meeting


@pytest.fixture
def meeting(board, coordinator):
    """An unpublished agenda of two cases."""
    return agenda_meeting(board, coordinator, PATIENTS)


# The case summary ---------------------------------------------------------------------------


def test_a_member_downloads_the_case_summary_and_the_download_is_audited(api, radiologist, named_case):
    response = api(radiologist).get(f"/api/v1/cases/{named_case.pk}/summary.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="case-{named_case.pk}-summary.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert page_count(response.content) >= 1
    text = text_of(response.content)
    assert "QUILLFEATHER, Ines" in text and "PRN-000100" in text
    event = m.AuditEvent.objects.get(action="case.print")
    assert (event.actor, event.case_id) == (radiologist, named_case.pk)
    assert event.changes["document"] == "case_summary"
    assert (event.changes["via"], event.changes["pdfa"]) == ("api", False)


@pytest.mark.parametrize("flag", ["1", "true"])
def test_pdfa_is_a_query_flag(flag, api, coordinator, named_case):
    response = api(coordinator).get(f"/api/v1/cases/{named_case.pk}/summary.pdf", {"pdfa": flag})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-summary-pdfa.pdf"')
    xmp = PdfReader(io.BytesIO(response.content)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp
    assert m.AuditEvent.objects.get(action="case.print").changes["pdfa"] is True


# The meeting packet -------------------------------------------------------------------------


def test_the_packet_names_every_patient_and_is_a_draft_while_the_agenda_is_unpublished(api, chair, meeting):
    response = api(chair).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('-packet.pdf"')
    assert page_count(response.content) >= 4  # cover, agenda, one section per case
    text = text_of(response.content)
    for given, family, mrn in PATIENTS:
        assert f"{family.upper()}, {given}" in text and mrn in text
    assert "DRAFT" in text
    event = m.AuditEvent.objects.get(action="meeting.print")
    assert (event.actor, event.changes["via"], event.changes["pdfa"]) == (chair, "api", False)
    assert event.changes["cases"] == list(meeting.agenda_items.order_by("position").values_list("case_id", flat=True))


def test_the_deidentified_packet_is_gone_and_points_to_teaching_sets(api, coordinator, meeting):
    for value in ("1", "true", "perhaps"):
        response = api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf", {"deidentify": value})
        assert response.status_code == 410
        assert response.json()["code"] == "deidentified_packet_gone"
        assert response.json()["see"] == "/api/v1/teaching-sets/" and "teaching set" in response.json()["detail"]
    assert not m.AuditEvent.objects.filter(action="meeting.print").exists()
    assert api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf", {"deidentify": "0"}).status_code == 200


def test_a_published_agenda_prints_without_the_draft_mark(api, coordinator, board):
    published = agenda_meeting(board, coordinator, PATIENTS[:1], published=True)
    response = api(coordinator).get(f"/api/v1/meetings/{published.pk}/packet.pdf")
    assert response.status_code == 200
    assert "DRAFT" not in text_of(response.content)


def test_the_packet_runs_the_same_queries_for_thirty_cases_as_for_two(
    api, coordinator, board, django_assert_num_queries
):
    small = agenda_meeting(board, coordinator, PATIENTS)
    large = agenda_meeting(board, coordinator, [("Pat", f"Rowan{n}", f"ROW-{n:06d}") for n in range(30)])
    client = api(coordinator)
    # Cold, the packet is rendered by a job (run in this process by the test settings): session, user,
    # memberships; the packet's 10 reads; the job (look-up, insert in a savepoint, claim, re-read, the job's
    # user, memberships, its own 10 reads of the packet, done); the audit event (one insert; it was five before
    # issue 11); +3: the session's sliding expiry is saved.
    with django_assert_num_queries(37):
        assert client.get(f"/api/v1/meetings/{small.pk}/packet.pdf").status_code == 200
    with django_assert_num_queries(37):
        response = client.get(f"/api/v1/meetings/{large.pk}/packet.pdf")
    assert page_count(response.content) >= 32
    # A reprint reads the cached PDF: no job at all.
    with django_assert_num_queries(17):  # the audit event is one insert (issue 11; five before)
        assert client.get(f"/api/v1/meetings/{large.pk}/packet.pdf").status_code == 200


# Refusals -----------------------------------------------------------------------------------


def test_another_boards_member_gets_not_found_and_nothing_is_audited(api, outsider, named_case, meeting):
    client = api(outsider)
    for url in [f"/api/v1/cases/{named_case.pk}/summary.pdf", f"/api/v1/meetings/{meeting.pk}/packet.pdf"]:
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert audit_actions(action__endswith=".print") == []


def test_a_bad_flag_is_refused_with_the_field_named_and_nothing_is_printed(api, coordinator, named_case, meeting):
    client = api(coordinator)
    refused = client.get(f"/api/v1/cases/{named_case.pk}/summary.pdf", {"pdfa": "maybe"})
    assert refused.status_code == 400
    assert refused.json() == {"pdfa": ["Must be a valid boolean."]}
    refused = client.get(f"/api/v1/meetings/{meeting.pk}/packet.pdf", {"pdfa": "perhaps"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["pdfa"]
    assert audit_actions(action__endswith=".print") == []


def test_an_empty_agenda_prints_its_cover_and_agenda(api, coordinator, board):
    empty = f.MeetingFactory(board=board, created_by=coordinator)
    response = api(coordinator).get(f"/api/v1/meetings/{empty.pk}/packet.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 1 and "DRAFT" in reader.pages[0].extract_text()
    assert audit_actions(action__endswith=".print") == ["meeting.print"]


def test_an_anonymous_request_is_told_to_authenticate(db, named_case, meeting):
    for url in [f"/api/v1/cases/{named_case.pk}/summary.pdf", f"/api/v1/meetings/{meeting.pk}/packet.pdf"]:
        response = APIClient().get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["code"] == "not_authenticated"


def test_a_token_downloads_and_asking_for_a_pdf_gets_a_pdf_or_a_json_refusal(coordinator, named_case):
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "coordinator", "password": "correct-horse-battery"})
    client.credentials(HTTP_AUTHORIZATION="Token " + token.json()["token"], HTTP_ACCEPT="application/pdf")
    response = client.get(f"/api/v1/cases/{named_case.pk}/summary.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    refused = client.get(f"/api/v1/cases/{named_case.pk}/summary.pdf", {"pdfa": "2"})
    assert refused.status_code == 400 and refused["Content-Type"] == "application/json"
    assert audit_actions(action="case.print") == ["case.print"]


def test_downloads_are_throttled_like_every_request(api, coordinator, named_case, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "2/min", raising=False)
    client = api(coordinator)
    url = f"/api/v1/cases/{named_case.pk}/summary.pdf"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_the_url_is_the_files_name_with_no_trailing_slash(api, coordinator, named_case):
    client = api(coordinator)
    assert client.get(f"/api/v1/cases/{named_case.pk}/summary.pdf/").status_code == 404
    assert client.get(f"/api/v1/cases/{named_case.pk}/summaryXpdf").status_code == 404
    assert client.post(f"/api/v1/cases/{named_case.pk}/summary.pdf").status_code == 405


# The schema ---------------------------------------------------------------------------------


def test_the_schema_documents_the_downloads_as_pdf_with_json_refusals(api, coordinator):
    client = api(coordinator)  # the schema is for signed-in users (issue 11)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path, flags in [
        ("/api/v1/cases/{id}/summary.pdf", {"pdfa"}),
        ("/api/v1/meetings/{id}/packet.pdf", {"pdfa"}),
    ]:
        operation = paths[path]["get"]
        assert list(paths[path]) == ["get"]
        assert operation["responses"]["200"]["content"] == {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
        }
        refusals = ["400", "401", "404", "429"]
        for code in refusals:
            assert list(operation["responses"][code]["content"]) == ["application/json"]
        query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
        assert query == {flag: {"type": "boolean", "default": False} for flag in flags}


def test_the_schema_documents_the_packets_202_job_and_its_409_refusals(api, coordinator):
    schema = api(coordinator).get("/api/schema/?format=json").json()
    responses = schema["paths"]["/api/v1/meetings/{id}/packet.pdf"]["get"]["responses"]
    accepted = responses["202"]
    assert accepted["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
    assert set(accepted["headers"]) == {"Location", "Retry-After"}
    assert "/api/v1/jobs/{id}/" in accepted["headers"]["Location"]["description"]
    conflict = responses["409"]
    assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "missing_glyphs" in conflict["description"] and "print_limit_exceeded" in conflict["description"]
    job = schema["components"]["schemas"]["Job"]["properties"]
    assert {"status", "progress", "detail", "download"} <= set(job)
    summary = schema["paths"]["/api/v1/cases/{id}/summary.pdf"]["get"]["responses"]
    assert "202" not in summary and "missing_glyphs" in summary["409"]["description"]


# Found by `make fuzz` on PostgreSQL ------------------------------------------------------------


def test_a_time_filter_with_an_offset_postgresql_refuses_is_compared_in_utc(api, coordinator, board):
    f.MeetingFactory(board=board, starts_at=timezone.now())
    client = api(coordinator)
    response = client.get("/api/v1/meetings/", {"starts_before": "1380-02-27T21:19:23.64+22:45"})
    assert response.status_code == 200 and response.json()["count"] == 0
    assert client.get("/api/v1/meetings/", {"starts_before": "2999-01-01T00:00:00+22:45"}).json()["count"] == 1
