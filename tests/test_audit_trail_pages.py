"""The audit trail's pages: an auditor filters and exports it; coordinators see who viewed a case."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from cases import models as m
from cases.services.audit import audit_record
from tests import factories as f


@pytest.fixture
def auditor(db):
    user = f.UserFactory(username="auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trail(case, coordinator, radiologist, other_board):
    audit_record(actor=coordinator, action="case.view", obj=case)
    audit_record(actor=radiologist, action="case.view", obj=case)
    audit_record(actor=radiologist, action="case.print", obj=case)
    elsewhere = f.CaseFactory(board=other_board)
    audit_record(actor=radiologist, action="case.view", obj=elsewhere)
    return case


def test_an_auditor_filters_by_user_patient_object_and_date(auditor, trail, radiologist):
    client = client_for(auditor)
    page = client.get("/audit/", {"username": "radiologist", "mrn": trail.patient.mrn})
    assert page.status_code == 200
    assert [e.action for e in page.context["page"].object_list] == ["case.print", "case.view"]
    page = client.get("/audit/", {"object_type": "case", "object_id": str(trail.pk), "action": "case.view"})
    assert [e.actor_username for e in page.context["page"].object_list] == ["radiologist", "coordinator"]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert client.get("/audit/", {"date_from": tomorrow}).context["page"].paginator.count == 0
    unreadable = client.get("/audit/", {"date_from": "not a date"})
    assert unreadable.status_code == 200 and unreadable.context["page"].paginator.count == 0
    assert unreadable.context["form"].errors["date_from"]


def test_reading_the_trail_is_itself_audited(auditor, trail):
    client_for(auditor).get("/audit/", {"username": "radiologist"})
    event = m.AuditEvent.objects.get(action="audit.view")
    shown = m.AuditEvent.objects.filter(actor_username="radiologist").order_by("-id")
    assert (event.actor, event.changes["query"]) == (auditor, {"username": "radiologist"})
    assert event.changes["ids"] == [e.pk for e in shown]
    assert event.changes["patient_ids"] == sorted({e.patient_id for e in shown})


def test_the_export_is_a_csv_of_the_filtered_events_with_formulas_made_inert(auditor, trail, coordinator):
    audit_record(actor=coordinator, action="case.update", obj=trail, changes={"note": '=HYPERLINK("x")'})
    response = client_for(auditor).get("/audit/", {"format": "csv", "mrn": trail.patient.mrn})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["action"] for row in rows] == ["case.update", "case.print", "case.view", "case.view"]
    assert rows[0]["changes"] == '{"note": "=HYPERLINK(\\"x\\")"}'
    assert m.AuditEvent.objects.filter(action="audit.export", actor=auditor).exists()


def test_a_formula_at_the_start_of_a_cell_is_prefixed(auditor, case):
    audit_record(actor=None, action="auth.login_failed", object_type="user", object_id="=1+1")
    rows = list(
        csv.reader(io.StringIO(b"".join(client_for(auditor).get("/audit/?format=csv").streaming_content).decode()))
    )
    failed_login = next(row for row in rows if row[3] == "auth.login_failed")
    assert failed_login[5] == "'=1+1"


def test_the_permission_without_a_staff_account_is_not_enough(auditor, trail):
    auditor.is_staff = False
    auditor.save()
    assert client_for(auditor).get("/audit/").status_code == 403


@pytest.mark.parametrize("persona", ["coordinator", "chair", "radiologist", "outsider"])
def test_board_members_cannot_read_the_trail(persona, request, trail):
    client = client_for(request.getfixturevalue(persona))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/?format=csv").status_code == 403


def test_the_trail_page_runs_the_same_queries_for_sixty_events(auditor, case, coordinator, django_assert_num_queries):
    client = client_for(auditor)
    client.get("/audit/")
    for _ in range(60):
        audit_record(actor=coordinator, action="case.view", obj=case)
    # session, user, permissions (user's and groups'), the audit row written (savepoint, head lock,
    # insert, head update, release), count, page, the session's sliding expiry (savepoint, update, release)
    with django_assert_num_queries(10):
        response = client.get("/audit/")
    assert len(response.context["page"].object_list) == 50


def test_a_coordinator_sees_who_viewed_the_case(trail, coordinator):
    page = client_for(coordinator).get(f"/cases/{trail.pk}/")
    viewers = {row["actor_username"]: row["times"] for row in page.context["viewers"]}
    assert viewers == {"coordinator": 2, "radiologist": 2}
    assert b"Who viewed this case" in page.content


def test_other_members_do_not_see_who_viewed_the_case(trail, radiologist):
    page = client_for(radiologist).get(f"/cases/{trail.pk}/")
    assert page.context["viewers"] is None
    assert b"Who viewed this case" not in page.content
