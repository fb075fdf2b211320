import pytest

from cases import models as m
from cases.services import cases
from cases.services.audit import audit_record


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

    # The client 203.0.113.9 reached proxy 10.0.0.1, which reached the balancer in front of the app (10.0.0.2).
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert client_address(request) == "10.0.0.2"
    settings.TUMORBOARD_TRUST_X_FORWARDED_FOR = True
    settings.TUMORBOARD_PROXY_HOPS = 2
    assert client_address(request) == "203.0.113.9"
    # With one proxy, what the client wrote itself is passed over: it cannot choose its audited address.
    settings.TUMORBOARD_PROXY_HOPS = 1
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.66, 198.51.100.7")
    assert client_address(spoofed) == "198.51.100.7"
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")) == "198.51.100.7"
    # Whatever the client writes left of the proxy's entry changes nothing, an empty entry or garbage included.
    for written in (",", "not-an-address", ", ,"):
        tricked = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{written}, 198.51.100.7")
        assert client_address(tricked) == "198.51.100.7", written
    # Fewer entries than proxies: the header was not written by them all; the direct peer is what is known.
    settings.TUMORBOARD_PROXY_HOPS = 3
    assert client_address(spoofed) == "10.0.0.2"
