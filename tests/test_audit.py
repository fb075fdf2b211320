import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from cases import models as m
from cases.services import cases
from cases.services.audit import audit_record, audit_verify_chain


def test_every_write_leaves_an_audit_row_with_who_and_what(case, coordinator):
    cases.case_update(case=case, by=coordinator, key_labs="PTH 84 pmol/L")
    event = m.AuditEvent.objects.get()
    assert (event.actor, event.actor_username, event.action, event.object_type, event.object_id) == (
        coordinator,
        "coordinator",
        "case.update",
        "case",
        str(case.pk),
    )
    assert (event.case_id, event.patient_id) == (case.pk, case.patient_id)
    assert event.changes == {"key_labs": ["Calcium high.", "PTH 84 pmol/L"]}


def test_audit_events_are_append_only(case, coordinator):
    event = audit_record(actor=coordinator, action="case.view", obj=case)
    event.action = "nothing.happened"
    with pytest.raises(m.FrozenRecordError):
        event.save()
    with pytest.raises(m.FrozenRecordError):
        event.delete()
    with pytest.raises(m.FrozenRecordError):
        m.AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(m.FrozenRecordError):
        m.AuditEvent.objects.all().delete()


def tamper(sql, params):
    """Change the table below the ORM's guard, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # a superuser silences triggers
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


@pytest.fixture
def five_events(case, coordinator):
    for _ in range(5):
        audit_record(actor=coordinator, action="case.view", obj=case)
    return list(m.AuditEvent.objects.order_by("sequence"))


def test_the_hash_chain_verifies(five_events):
    report = audit_verify_chain()
    assert (report.ok, report.checked) == (True, 5)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "5 events verified" in out.getvalue()


def test_an_edited_event_is_the_first_broken_link(five_events):
    tamper("UPDATE cases_auditevent SET action = %s WHERE id = %s", ["case.print", five_events[2].pk])
    report = audit_verify_chain()
    assert (report.checked, report.broken.sequence) == (2, 3)
    assert "changed after it was written" in report.problem
    with pytest.raises(CommandError, match="broken after 2 good events"):
        call_command("verify_audit", stdout=io.StringIO())


def test_a_deleted_event_breaks_the_chain(five_events):
    tamper("DELETE FROM cases_auditevent WHERE id = %s", [five_events[1].pk])
    report = audit_verify_chain()
    assert (report.checked, report.broken.sequence) == (1, 3)
    assert "missing" in report.problem


def test_removing_the_newest_events_is_detected_by_the_head(five_events):
    tamper("DELETE FROM cases_auditevent WHERE id = %s", [five_events[-1].pk])
    report = audit_verify_chain()
    assert not report.ok and "head records #5" in report.problem


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_rows_even_in_raw_sql(postgres_only, five_events):
    for sql in ("UPDATE cases_auditevent SET action = 'x' WHERE id = %s", "DELETE FROM cases_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [five_events[0].pk])
    assert audit_verify_chain().ok


def test_a_request_records_its_id_and_client_address(rf, coordinator, case):
    from cases.middleware import RequestContextMiddleware

    def view(request):
        request.event = audit_record(actor=request.user, action="case.view", obj=case)
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = rf.get("/", REMOTE_ADDR="10.1.2.3")
    request.user = coordinator
    response = RequestContextMiddleware(view)(request)
    assert (request.event.request_id, request.event.ip_address) == (response["X-Request-ID"], "10.1.2.3")
    assert len(request.event.request_id) == 32
    # Outside a request nothing is bound.
    assert audit_record(actor=coordinator, action="case.view", obj=case).request_id == ""


def test_the_forwarded_address_is_used_only_behind_a_trusted_proxy(rf, settings):
    from cases.middleware import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert client_address(request) == "10.0.0.1"
    settings.TUMORBOARD_TRUST_X_FORWARDED_FOR = True
    assert client_address(request) == "203.0.113.9"
