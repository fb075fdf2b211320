"""Cases over the API: list with filters, detail with ETag, referral edits with If-Match, transitions, timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions, build_case


def test_the_case_list_shows_only_cases_of_the_users_boards(api, coordinator, board, other_board):
    mine = f.CaseFactory(board=board)
    f.CaseFactory(board=other_board)
    response = api(coordinator).get("/api/v1/cases/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_the_case_list_filters_by_board_stage_priority_patient_and_update_time(api, coordinator, board):
    wanted = f.CaseFactory(board=board, stage="imaging", priority="urgent")
    f.CaseFactory(board=board, stage="imaging", priority="routine")
    f.CaseFactory(board=board, stage="intake", priority="urgent")
    client = api(coordinator)
    query = f"?board={board.pk}&stage=imaging&priority=urgent"
    assert [row["id"] for row in client.get("/api/v1/cases/" + query).json()["results"]] == [wanted.pk]
    by_patient = client.get(f"/api/v1/cases/?patient={wanted.patient_id}").json()["results"]
    assert [row["id"] for row in by_patient] == [wanted.pk]
    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert client.get("/api/v1/cases/", {"updated_after": later}).json()["count"] == 0


def test_the_case_list_filters_by_meeting_and_searches_by_name_or_mrn(api, coordinator, board):
    listed = f.CaseFactory(board=board, patient__family_name="Quillfeather", patient__mrn="MRN-777")
    f.CaseFactory(board=board)
    meeting = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=listed, position=1)
    client = api(coordinator)
    assert [r["id"] for r in client.get(f"/api/v1/cases/?meeting={meeting.pk}").json()["results"]] == [listed.pk]
    assert [r["id"] for r in client.get("/api/v1/cases/?search=quillfeath").json()["results"]] == [listed.pk]
    assert [r["id"] for r in client.get("/api/v1/cases/?search=mrn-777").json()["results"]] == [listed.pk]


def test_the_case_list_orders_and_caps_the_page_size(api, coordinator, board):
    for _ in range(3):
        f.CaseFactory(board=board)
    client = api(coordinator)
    ids = [row["id"] for row in client.get("/api/v1/cases/?ordering=id").json()["results"]]
    assert ids == sorted(ids)
    page = client.get("/api/v1/cases/?page_size=1000").json()
    assert page["count"] == 3 and len(page["results"]) == 3
    assert len(client.get("/api/v1/cases/?page_size=2").json()["results"]) == 2


def test_bad_filter_values_are_refused_with_field_errors(api, coordinator):
    response = api(coordinator).get("/api/v1/cases/", {"stage": "limbo", "board": "x", "updated_after": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) == {"stage", "board", "updated_after"}


def test_the_case_list_runs_the_same_queries_for_35_rows(api, coordinator, board, django_assert_num_queries):
    client = api(coordinator)
    for _ in range(35):
        case = f.CaseFactory(board=board)
        f.PathologyReportFactory(case=case)
    # session, user, memberships, count, page
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        response = client.get("/api/v1/cases/?page_size=100")
    assert len(response.json()["results"]) == 35


def test_case_detail_shows_the_whole_case_with_its_etag_and_audits_the_read(api, coordinator, make_case):
    case = make_case("consensus")
    response = api(coordinator).get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == f'"case-{case.pk}-v{case.version}"'
    assert body["stage"] == "consensus" and body["version"] == case.version
    assert len(body["imaging_studies"]) == 1 and len(body["opinions"]) == 4
    assert body["pathology_reports"][0]["is_current"] is True
    assert {move["to"] for move in body["next_moves"]} >= {"closed", "intake"}
    assert body["created_at"].endswith("+00:00")
    assert audit_actions(case_id=case.pk) == ["case.view"]


def _fill(case, specialists, rows):
    for _ in range(rows):
        study = f.ImagingStudyFactory(case=case)
        m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="c")
        f.DecisionFactory(case=case).participants.set(specialists.values())
        m.CaseEvent.objects.create(case=case, kind="updated", summary="x")
        m.FollowUp.objects.create(case=case, kind="action", description="x", due_on=timezone.localdate())
        m.AgendaItem.objects.create(meeting=f.MeetingFactory(board=case.board), case=case, position=1)


@pytest.mark.parametrize("rows", [1, 30])
def test_case_detail_runs_the_same_queries_however_much_the_case_holds(
    rows, api, coordinator, board, specialists, django_assert_num_queries
):
    case = build_case(board, stage="consensus", specialists=specialists)
    _fill(case, specialists, rows)
    client = api(coordinator)
    # session, user, memberships, case + 10 prefetches (issue 13: imaging addenda), the audit insert
    with django_assert_num_queries(18):  # +3: the session's sliding expiry is saved
        response = client.get(f"/api/v1/cases/{case.pk}/")
    assert len(response.json()["imaging_studies"]) == rows + 1


def test_an_outsider_gets_not_found_for_another_boards_case(api, outsider, case):
    response = api(outsider).get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_coordinator_registers_a_case(api, coordinator, board):
    patient = f.PatientFactory(registered_board=board)
    response = api(coordinator).post(
        "/api/v1/cases/",
        {"patient": patient.pk, "board": board.pk, "clinical_question": "Relapse?", "priority": "urgent"},
    )
    assert response.status_code == 201
    case = m.Case.objects.get(pk=response.json()["id"])
    assert (case.patient, case.priority, case.created_by) == (patient, "urgent", coordinator)
    assert response["ETag"] == f'"case-{case.pk}-v1"'
    assert "case.create" in audit_actions(case_id=case.pk)


def test_a_radiologist_cannot_register_a_case(api, radiologist, board):
    patient = f.PatientFactory(registered_board=board)
    response = api(radiologist).post("/api/v1/cases/", {"patient": patient.pk, "board": board.pk})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_editing_the_referral_needs_if_match(api, coordinator, case):
    response = api(coordinator).patch(f"/api/v1/cases/{case.pk}/", {"priority": "urgent"})
    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"
    assert f'"case-{case.pk}-v1"' in response.json()["detail"]
    case.refresh_from_db()
    assert case.priority == "routine"


def test_editing_the_referral_with_the_current_etag_saves_and_returns_the_new_etag(api, coordinator, case):
    client = api(coordinator)
    etag = client.get(f"/api/v1/cases/{case.pk}/")["ETag"]
    response = client.patch(f"/api/v1/cases/{case.pk}/", {"priority": "urgent"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["priority"] == "urgent"
    assert response["ETag"] == f'"case-{case.pk}-v2"'


def test_an_edit_based_on_an_old_etag_is_refused_and_changes_nothing(api, coordinator, case):
    client = api(coordinator)
    stale = client.get(f"/api/v1/cases/{case.pk}/")["ETag"]
    assert client.patch(f"/api/v1/cases/{case.pk}/", {"key_labs": "Ca 2.9"}, HTTP_IF_MATCH=stale).status_code == 200
    response = client.patch(f"/api/v1/cases/{case.pk}/", {"key_labs": "lost update"}, HTTP_IF_MATCH=stale)
    assert response.status_code == 412
    assert response.json()["code"] == "stale_version" and response.json()["current_version"] == 2
    case.refresh_from_db()
    assert case.key_labs == "Ca 2.9"


def test_an_etag_of_another_object_is_refused(api, coordinator, case, board):
    other = f.CaseFactory(board=board)
    response = api(coordinator).patch(
        f"/api/v1/cases/{case.pk}/", {"priority": "urgent"}, HTTP_IF_MATCH=f'"case-{other.pk}-v1"'
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"


def test_put_and_delete_are_not_offered_on_cases(api, coordinator, case):
    client = api(coordinator)
    assert client.put(f"/api/v1/cases/{case.pk}/", {}, HTTP_IF_MATCH='"case-1-v1"').status_code == 405
    assert client.delete(f"/api/v1/cases/{case.pk}/", HTTP_IF_MATCH='"case-1-v1"').status_code == 405


def test_a_transition_moves_the_case_and_returns_it(api, coordinator, make_case):
    case = make_case("intake")
    response = api(coordinator).post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging", "note": "ready"})
    assert response.status_code == 200
    assert response.json()["stage"] == "imaging"
    assert response["ETag"] == f'"case-{case.pk}-v2"'
    assert "case.transition" in audit_actions(case_id=case.pk)


def test_a_refused_transition_names_every_unmet_gate(api, coordinator, board):
    case = f.CaseFactory(board=board, history="", clinical_question="")
    response = api(coordinator).post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "gates_unmet"
    assert [gate["code"] for gate in body["unmet"]] == [
        "referral_incomplete:clinical_question",
        "referral_incomplete:history",
    ]
    assert all(gate["message"] for gate in body["unmet"]) and body["detail"]
    case.refresh_from_db()
    assert case.stage == "intake"


def test_a_transition_with_a_stale_if_match_is_refused_with_412(api, coordinator, make_case):
    case = make_case("intake")
    response = api(coordinator).post(
        f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging"}, HTTP_IF_MATCH=f'"case-{case.pk}-v9"'
    )
    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"


def test_a_transition_to_an_unknown_stage_is_a_field_error(api, coordinator, case):
    response = api(coordinator).post(f"/api/v1/cases/{case.pk}/transition/", {"to": "limbo"})
    assert response.status_code == 400
    assert "to" in response.json()


@pytest.mark.parametrize("persona", ["radiologist", "pathologist", "orthopaedic"])
def test_members_without_the_role_cannot_move_a_case(api, request, persona, make_case):
    case = make_case("intake")
    response = api(request.getfixturevalue(persona)).post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging"})
    assert response.status_code == 403


def test_the_timeline_lists_what_happened_newest_first(api, coordinator, make_case):
    case = make_case("intake")
    client = api(coordinator)
    client.post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging", "note": "referral complete"})
    response = client.get(f"/api/v1/cases/{case.pk}/timeline/")
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert (first["kind"], first["from_stage"], first["to_stage"], first["note"]) == (
        "transition",
        "intake",
        "imaging",
        "referral complete",
    )
    assert first["actor"]["username"] == "coordinator"


@pytest.mark.parametrize("events", [1, 40])
def test_the_timeline_runs_the_same_queries_for_40_events(events, api, coordinator, case, django_assert_num_queries):
    client = api(coordinator)
    for n in range(events):
        m.CaseEvent.objects.create(case=case, kind="updated", summary=f"edit {n}", actor=coordinator)
    # session, user, memberships, case, audit event (savepoint, head lock, insert, head update), count, page
    with django_assert_num_queries(10):  # +3: the session's sliding expiry is saved
        response = client.get(f"/api/v1/cases/{case.pk}/timeline/?page_size=100")
    assert len(response.json()["results"]) == events
