"""Application logs never carry patient identifiers."""

import io
import logging

import pytest
from django.core.management import call_command
from django.test import Client

from cases import models as m


@pytest.fixture
def every_log_record():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(previous)


def identifiers():
    found = set()
    for patient in m.Patient.objects.all():
        found |= {
            patient.mrn,
            patient.family_name,
            patient.given_name,
            patient.birth_date.isoformat(),
            patient.birth_date.strftime("%d %b %Y"),
        }
    return found


def test_the_demo_journey_logs_no_patient_identifier(db, settings, every_log_record, outsider):
    settings.DEBUG = True  # load_demo runs only with debug on; debug also logs every SQL statement
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False
    coordinator = m.BoardMembership.objects.filter(role="coordinator").first().user
    client = Client()
    client.post("/login/", {"username": coordinator.username, "password": "wrong"})
    client.force_login(coordinator)
    for case in m.Case.objects.all():
        client.get(f"/cases/{case.pk}/")
        client.get(f"/patients/{case.patient_id}/")
    stranger = Client()
    stranger.force_login(outsider)
    stranger.get(f"/cases/{m.Case.objects.filter(board__name='Sarcoma board').first().pk}/")
    assert every_log_record, "the capture saw no log records at all"
    names = identifiers()
    leaks = [record for record in every_log_record for name in names if name in record]
    assert leaks == []


def test_runserver_request_lines_lose_their_query_string(caplog):
    # How runserver logs a refused request (WSGIRequestHandler.log_message): the request line is an argument.
    logging.getLogger("django.server").warning(
        '"%s" %s %s', "GET /api/v1/cases/?search=DEMO-100001 HTTP/1.1", "401", "58"
    )
    assert caplog.records[-1].getMessage() == '"GET /api/v1/cases/ HTTP/1.1" 401 58'
