"""Two clients editing the same case at once over HTTP: one wins, the other is told 412. No lost update."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cases import models as m
from tests import factories as f


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_edits_with_the_same_etag_keep_exactly_one(postgres_only, board, coordinator):
    case = f.CaseFactory(board=board)
    etag = f'"case-{case.pk}-v1"'
    barrier, statuses = threading.Barrier(2), {}

    def edit(labs):
        try:
            client = APIClient()
            client.force_login(coordinator)
            barrier.wait(timeout=10)
            response = client.patch(f"/api/v1/cases/{case.pk}/", {"key_labs": labs}, HTTP_IF_MATCH=etag)
            statuses[labs] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(labs,)) for labs in ("Ca 2.9", "Ca 3.1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses.values()) == [200, 412]
    case.refresh_from_db()
    winner = next(labs for labs, status in statuses.items() if status == 200)
    assert (case.key_labs, case.version) == (winner, 2)
    assert m.AuditEvent.objects.filter(case_id=case.pk, action="case.update").count() == 1
