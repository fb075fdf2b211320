"""Failures half-way and dropped connections leave the data whole."""

from wsgiref.util import setup_testing_defaults

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client

from cases import models as m
from cases.services import workflow


def test_a_transaction_that_fails_half_way_persists_nothing(make_case, coordinator, monkeypatch):
    case = make_case("intake")

    def fail(**kwargs):
        raise RuntimeError("disk full while writing the audit row")

    monkeypatch.setattr("cases.services.workflow.audit_record", fail)
    with pytest.raises(RuntimeError):
        workflow.case_transition(case=case, to="imaging", by=coordinator)
    case.refresh_from_db()
    assert (case.stage, case.version) == ("intake", 1)
    assert not case.events.exists()
    assert not m.AuditEvent.objects.exists()


def wsgi_get(path: str, cookie: str) -> int:
    """One request through Django's real WSGI handler, with its request_started/finished connection upkeep
    (the test client switches that upkeep off)."""
    status = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_COOKIE": cookie, "REMOTE_ADDR": "127.0.0.1"}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "localhost"
    body = WSGIHandler()(environ, lambda code, headers: status.append(int(code.split()[0])))
    b"".join(body)
    body.close()
    return status[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_between_requests_does_not_fail_the_next_one(postgres_only, coordinator):
    connection.settings_dict["CONN_MAX_AGE"] = 60
    client = Client()
    client.force_login(coordinator)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert wsgi_get("/", cookie) == 200
    victim = connection.connection.info.backend_pid
    db = connection.settings_dict
    killer = psycopg2.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or None, dbname=db["NAME"]
    )
    killer.autocommit = True
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
        assert cursor.fetchone() == (True,)
    killer.close()
    assert wsgi_get("/", cookie) == 200
    assert connection.connection.info.backend_pid != victim
