"""Meetings (agenda, attendance, outcome), decisions (record, sign, correct) and follow-up over the API."""

import pytest
from django.utils import timezone

from cases import models as m
from tests import factories as f

PLAN = [{"category": "surveillance", "detail": "Osteosarcoma schedule."}]


@pytest.fixture
def meeting(board, coordinator):
    return f.MeetingFactory(board=board, created_by=coordinator)


def test_a_coordinator_schedules_a_meeting(api, coordinator, board):
    body = {"board": board.pk, "starts_at": "2030-03-04T16:00:00+01:00", "location": "Room 4B"}
    response = api(coordinator).post("/api/v1/meetings/", body)
    assert response.status_code == 201
    assert response.json()["starts_at"] == "2030-03-04T15:00:00+00:00"
    assert response.json()["quorum"] == {
        "recorded": False,
        "present": [],
        "missing": board.quorum_specialties,
        "is_met": False,
    }


def test_a_case_goes_on_the_agenda_and_the_agenda_is_reordered(api, coordinator, radiologist, meeting, board):
    first, second = f.CaseFactory(board=board), f.CaseFactory(board=board)
    client = api(coordinator)
    added = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": first.pk, "presenter": radiologist.pk})
    assert added.status_code == 201
    assert (added.json()["position"], added.json()["presenter"]["id"]) == (1, radiologist.pk)
    other = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": second.pk, "minutes": 20}).json()
    response = client.post(
        f"/api/v1/meetings/{meeting.pk}/agenda/reorder/", {"items": [other["id"], added.json()["id"]]}
    )
    assert response.status_code == 200
    assert [item["case"]["id"] for item in response.json()["agenda_items"]] == [second.pk, first.pk]
    assert response.json()["agenda_count"] == 2


def test_an_incomplete_referral_cannot_go_on_the_agenda(api, coordinator, meeting, board):
    case = f.CaseFactory(board=board, history="")
    response = api(coordinator).post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": case.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "referral_incomplete"


def test_a_reorder_must_name_every_item_once(api, coordinator, meeting, case):
    client = api(coordinator)
    item = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": case.pk}).json()
    response = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/reorder/", {"items": [item["id"], item["id"]]})
    assert response.status_code == 400 and "items" in response.json()


def test_attendance_makes_the_meeting_quorate(api, coordinator, meeting, specialists):
    client = api(coordinator)
    for user in specialists.values():
        response = client.post(f"/api/v1/meetings/{meeting.pk}/attendance/", {"user": user.pk})
        assert response.status_code == 200
    assert client.get(f"/api/v1/meetings/{meeting.pk}/").json()["quorum"]["is_met"] is True


def test_only_members_are_recorded_as_attending(api, coordinator, meeting, outsider):
    response = api(coordinator).post(f"/api/v1/meetings/{meeting.pk}/attendance/", {"user": outsider.pk})
    assert response.status_code == 400 and "user" in response.json()


def test_an_agenda_item_is_changed_and_removed(api, coordinator, radiologist, meeting, case):
    client = api(coordinator)
    item = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": case.pk}).json()
    changed = client.post(
        f"/api/v1/meetings/{meeting.pk}/agenda/change/",
        {"item": item["id"], "presenter": radiologist.pk, "minutes": 25},
    )
    assert changed.status_code == 200
    assert (changed.json()["agenda_items"][0]["minutes"], changed.json()["agenda_items"][0]["presenter"]["id"]) == (
        25,
        radiologist.pk,
    )
    kept = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/change/", {"item": item["id"], "minutes": 5}).json()
    assert kept["agenda_items"][0]["presenter"]["id"] == radiologist.pk
    removed = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/remove/", {"item": item["id"]})
    assert removed.status_code == 200 and removed.json()["agenda_items"] == []
    assert client.post(f"/api/v1/meetings/{meeting.pk}/agenda/remove/", {"item": item["id"]}).status_code == 404


def test_an_item_of_another_meeting_is_not_found(api, coordinator, meeting, board, case):
    other = f.MeetingFactory(board=board)
    item = api(coordinator).post(f"/api/v1/meetings/{other.pk}/agenda/", {"case": case.pk}).json()
    response = api(coordinator).post(f"/api/v1/meetings/{meeting.pk}/agenda/remove/", {"item": item["id"]})
    assert response.status_code == 404


def test_a_deferred_case_needs_a_reason(api, coordinator, meeting, case):
    client = api(coordinator)
    item = client.post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": case.pk}).json()
    url = f"/api/v1/meetings/{meeting.pk}/agenda/outcome/"
    assert client.post(url, {"item": item["id"], "outcome": "deferred"}).status_code == 400
    done = client.post(url, {"item": item["id"], "outcome": "deferred", "reason": "Awaiting MRI"})
    assert done.json()["agenda_items"][0]["outcome"] == "deferred"


def test_publishing_and_status_changes(api, chair, meeting, case):
    client = api(chair)
    assert client.post(f"/api/v1/meetings/{meeting.pk}/publish/").json()["code"] == "agenda_empty"
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    assert client.post(f"/api/v1/meetings/{meeting.pk}/publish/").json()["is_published"] is True
    assert client.post(f"/api/v1/meetings/{meeting.pk}/publish/").json()["code"] == "already_published"
    assert client.post(f"/api/v1/meetings/{meeting.pk}/status/", {"status": "held"}).status_code == 409
    too_early = client.post(f"/api/v1/meetings/{meeting.pk}/status/", {"status": "in_progress"})
    assert [gate["code"] for gate in too_early.json()["unmet"]] == ["meeting_not_due"]
    m.Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now())
    assert client.post(f"/api/v1/meetings/{meeting.pk}/status/", {"status": "in_progress"}).status_code == 200


def test_a_scheduled_meeting_is_moved_and_what_is_left_out_stays(api, coordinator, meeting):
    client = api(coordinator)
    response = client.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {"starts_at": "2030-03-05T09:30:00+01:00"})
    assert response.status_code == 200
    assert (response.json()["starts_at"], response.json()["location"]) == ("2030-03-05T08:30:00+00:00", "Room 1")
    meeting.refresh_from_db()
    assert meeting.calendar_sequence == 1
    audit = m.AuditEvent.objects.get(action="meeting.reschedule", object_id=str(meeting.pk))
    assert audit.changes["starts_at"][1].startswith("2030-03-05T08:30:00")
    nothing = client.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {"location": "Room 1"})
    assert nothing.status_code == 200 and m.AuditEvent.objects.filter(action="meeting.reschedule").count() == 1


def test_moving_is_refused_into_the_past_without_a_place_or_once_the_meeting_started(
    api, coordinator, radiologist, outsider, meeting
):
    client = api(coordinator)
    past = client.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {"starts_at": "2020-03-05T09:30:00+01:00"})
    assert past.status_code == 400 and "in the past" in str(past.json())
    nowhere = client.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {"location": ""})
    assert nowhere.status_code == 400
    url = f"/api/v1/meetings/{meeting.pk}/reschedule/"
    assert api(radiologist).post(url, {"location": "Room 9"}).status_code == 403
    assert api(outsider).post(url, {"location": "Room 9"}).status_code == 404
    m.Meeting.objects.filter(pk=meeting.pk).update(status=m.MeetingStatus.HELD)
    held = client.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {"location": "Room 9"})
    assert held.status_code == 409 and held.json()["code"] == "meeting_not_scheduled"
    meeting.refresh_from_db()
    assert (meeting.location, meeting.calendar_sequence) == ("Room 1", 0)
    assert not m.AuditEvent.objects.filter(action="meeting.reschedule").exists()


def test_a_member_cannot_manage_the_agenda(api, radiologist, meeting, case):
    assert api(radiologist).post(f"/api/v1/meetings/{meeting.pk}/agenda/", {"case": case.pk}).status_code == 403


@pytest.mark.parametrize("rows", [1, 35])
def test_the_meeting_list_runs_the_same_queries(rows, api, coordinator, board, django_assert_num_queries):
    for _ in range(rows):
        f.MeetingFactory(board=board)
    client = api(coordinator)
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        assert len(client.get("/api/v1/meetings/").json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 35])
def test_meeting_detail_runs_the_same_queries_for_35_agenda_items(
    rows, api, coordinator, meeting, board, specialists, django_assert_num_queries
):
    for position in range(rows):
        m.AgendaItem.objects.create(meeting=meeting, case=f.CaseFactory(board=board), position=position)
    for specialty, user in specialists.items():
        f.AttendanceFactory(meeting=meeting, user=user, specialty=specialty)
    client = api(coordinator)
    # session, user, memberships, meeting, agenda, attendance, decisions, audit event (5)
    with django_assert_num_queries(11):  # +3: the session's sliding expiry is saved
        body = client.get(f"/api/v1/meetings/{meeting.pk}/").json()
    assert len(body["agenda_items"]) == rows


# Decisions -------------------------------------------------------------------------------


def draft_for(api, user, case, meeting, participants=()):
    f.on_agenda(meeting, case)
    body = {"case": case.pk, "meeting": meeting.pk, "consensus_diagnosis": "Tumoral calcinosis.", "plan": PLAN}
    body["participants"] = [p.pk for p in participants]
    return api(user).post("/api/v1/decisions/", body)


def test_the_chair_signs_a_decision_at_a_quorate_meeting(api, coordinator, chair, make_case, quorate_meeting):
    case = make_case("consensus")
    draft = draft_for(api, coordinator, case, quorate_meeting, participants=[chair])
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    signed = api(chair).post(f"/api/v1/decisions/{draft.json()['id']}/sign/", HTTP_IF_MATCH=draft["ETag"])
    assert signed.status_code == 200
    body = signed.json()
    assert (body["status"], body["signed_by"]["username"]) == ("signed", "chair")
    assert m.FollowUp.objects.filter(decision_id=body["id"]).count() == 1


def test_signing_is_refused_with_the_unmet_gates(api, coordinator, chair, make_case, meeting):
    draft = draft_for(api, coordinator, make_case("pathology"), meeting).json()
    response = api(chair).post(f"/api/v1/decisions/{draft['id']}/sign/")
    assert response.status_code == 409
    codes = [gate["code"] for gate in response.json()["unmet"]]
    expected = ["case_not_in_consensus", "meeting_not_in_progress", "meeting_not_started", "attendance_missing"]
    assert codes[:4] == expected
    assert "quorum_not_met:radiology" in codes


def test_only_the_chair_signs(api, coordinator, make_case, quorate_meeting):
    draft = draft_for(api, coordinator, make_case("consensus"), quorate_meeting).json()
    assert api(coordinator).post(f"/api/v1/decisions/{draft['id']}/sign/").status_code == 403


def test_a_draft_is_edited_with_if_match_and_a_signed_decision_is_corrected(
    api, coordinator, chair, make_case, quorate_meeting
):
    draft = draft_for(api, coordinator, make_case("consensus"), quorate_meeting)
    url = f"/api/v1/decisions/{draft.json()['id']}/"
    edited = api(coordinator).patch(url, {"dissent": "Radiology preferred MRI first."}, HTTP_IF_MATCH=draft["ETag"])
    assert edited.status_code == 200 and edited.json()["dissent"].startswith("Radiology")
    signed = api(chair).post(url + "sign/")
    assert (
        api(coordinator).patch(url, {"dissent": "x"}, HTTP_IF_MATCH=signed["ETag"]).json()["code"] == "decision_signed"
    )
    body = {"reason": "Plan category was wrong", "consensus_diagnosis": "Tumoral calcinosis.", "plan": PLAN}
    correction = api(chair).post(url + "correct/", body)
    assert correction.status_code == 201 and correction.json()["supersedes"] == draft.json()["id"]


def test_a_plan_item_must_have_a_known_category(api, coordinator, make_case, meeting):
    case = make_case("consensus")
    body = {"case": case.pk, "consensus_diagnosis": "x", "plan": [{"category": "magic"}]}
    response = api(coordinator).post("/api/v1/decisions/", body)
    assert response.status_code == 400 and "plan" in response.json()


@pytest.mark.parametrize("rows", [1, 35])
def test_the_decision_list_runs_the_same_queries(rows, api, coordinator, board, chair, django_assert_num_queries):
    for _ in range(rows):
        f.DecisionFactory(case=f.CaseFactory(board=board)).participants.set([chair, coordinator])
    client = api(coordinator)
    with django_assert_num_queries(
        10
    ):  # +3 session save, +1 audit event; session, user, memberships, count, page, participants
        assert len(client.get("/api/v1/decisions/").json()["results"]) == rows


# Follow-up -------------------------------------------------------------------------------


@pytest.fixture
def follow_up(case, chair):
    return m.FollowUp.objects.create(
        case=case, kind="action", description="MRI", due_on=timezone.localdate(), owner=chair
    )


def test_the_owner_marks_a_follow_up_done(api, chair, follow_up):
    response = api(chair).post(f"/api/v1/follow-ups/{follow_up.pk}/complete/")
    assert response.status_code == 200 and response.json()["status"] == "done"
    assert api(chair).post(f"/api/v1/follow-ups/{follow_up.pk}/complete/").json()["code"] == "follow_up_closed"


def test_a_deviation_needs_a_reason(api, coordinator, follow_up):
    client = api(coordinator)
    assert client.post(f"/api/v1/follow-ups/{follow_up.pk}/deviate/", {"reason": " "}).status_code == 400
    response = client.post(f"/api/v1/follow-ups/{follow_up.pk}/deviate/", {"reason": "Patient's choice"})
    assert response.json()["status"] == "deviated"


def test_a_follow_up_is_reassigned_with_if_match(api, coordinator, radiologist, follow_up):
    url = f"/api/v1/follow-ups/{follow_up.pk}/"
    client = api(coordinator)
    assert client.patch(url, {"owner": radiologist.pk}).status_code == 428
    response = client.patch(url, {"owner": radiologist.pk}, HTTP_IF_MATCH=client.get(url)["ETag"])
    assert response.status_code == 200 and response.json()["owner"]["id"] == radiologist.pk
    assert response.json()["due_on"] == follow_up.due_on.isoformat()


def test_a_member_who_does_not_own_it_cannot_close_a_follow_up(api, radiologist, follow_up):
    assert api(radiologist).post(f"/api/v1/follow-ups/{follow_up.pk}/complete/").status_code == 403


def test_a_surveillance_template_plans_dated_visits(api, coordinator, case):
    body = {"case": case.pk, "template": "osteosarcoma-treated", "start_on": "2026-01-31"}
    template = m.FollowUpTemplate.objects.first()
    body["template"] = template.code
    response = api(coordinator).post("/api/v1/follow-ups/apply-template/", body)
    assert response.status_code == 201
    assert len(response.json()) == len(template.visit_months())


@pytest.mark.parametrize("rows", [1, 35])
def test_the_follow_up_list_runs_the_same_queries(rows, api, coordinator, case, chair, django_assert_num_queries):
    for n in range(rows):
        m.FollowUp.objects.create(
            case=case, kind="action", description=f"{n}", due_on=timezone.localdate(), owner=chair
        )
    client = api(coordinator)
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        assert len(client.get("/api/v1/follow-ups/").json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 35])
def test_the_patient_list_runs_the_same_queries(rows, api, coordinator, board, django_assert_num_queries):
    for _ in range(rows):
        f.PatientFactory(registered_board=board)
    client = api(coordinator)
    with django_assert_num_queries(9):  # +3: the session's sliding expiry is saved; +1: the list's audit event
        assert len(client.get("/api/v1/patients/").json()["results"]) == rows


def test_an_unknown_user_id_gets_the_answer_a_user_of_another_board_gets(api, coordinator, meeting, outsider, case):
    """Issue 11: attendance and presenter errors tell nobody which user ids exist."""
    client = api(coordinator)
    attendance = f"/api/v1/meetings/{meeting.pk}/attendance/"
    other_board = client.post(attendance, {"user": outsider.pk})
    unknown = client.post(attendance, {"user": 987654})
    assert other_board.status_code == unknown.status_code == 400
    assert other_board.json() == unknown.json()
    agenda = f"/api/v1/meetings/{meeting.pk}/agenda/"
    other_board = client.post(agenda, {"case": case.pk, "presenter": outsider.pk})
    unknown = client.post(agenda, {"case": case.pk, "presenter": 987654})
    assert other_board.status_code == unknown.status_code == 400
    assert other_board.json() == unknown.json()
