"""Two people acting at once never corrupt a case (PostgreSQL: real row locks, real concurrent writers)."""

import threading
import time

import pytest
from django.db import connection

from cases import models as m
from cases.services import opinions, workflow
from cases.services.errors import Conflict, StaleVersion

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls):
    """Run each call in its own thread (own database connection), released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the refusal is the result under test
            results[index] = ("refused", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def slow_gates(monkeypatch):
    """Widen the window between reading the case and writing it, so unlocked writers would both pass."""
    original = workflow.unmet_gates

    def slow(case, to, note=""):
        time.sleep(0.3)
        return original(case, to, note)

    monkeypatch.setattr(workflow, "unmet_gates", slow)


@pytest.mark.postgres
def test_two_coordinators_moving_the_same_case_at_once_one_wins(
    postgres_only, slow_gates, make_case, coordinator, chair
):
    case = make_case("intake")
    results = run_together(
        lambda: workflow.case_transition(case=case, to="imaging", by=coordinator),
        lambda: workflow.case_transition(case=case, to="imaging", by=chair),
    )
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["ok", "refused"]
    refusal = next(value for kind, value in results if kind == "refused")
    assert isinstance(refusal, Conflict) and refusal.code == "transition_not_allowed"
    case.refresh_from_db()
    assert (case.stage, case.version) == ("imaging", 2)
    assert case.events.filter(kind="transition").count() == 1
    assert m.AuditEvent.objects.filter(action="case.transition", case_id=case.pk).count() == 1


@pytest.mark.postgres
def test_two_moves_from_the_same_version_one_is_refused_as_stale(
    postgres_only, slow_gates, make_case, coordinator, chair
):
    case = make_case("pathology")
    results = run_together(
        lambda: workflow.case_transition(case=case, to="consensus", by=coordinator, expected_version=1),
        lambda: workflow.case_transition(case=case, to="imaging", by=chair, note="More imaging", expected_version=1),
    )
    assert sorted(kind for kind, _ in results) == ["ok", "refused"]
    assert isinstance(next(v for k, v in results if k == "refused"), StaleVersion)
    case.refresh_from_db()
    assert case.version == 2 and case.events.filter(kind="transition").count() == 1


@pytest.mark.postgres
def test_two_edits_of_the_same_opinion_version_lose_nothing_silently(postgres_only, case, radiologist):
    opinion = opinions.opinion_record(case=case, by=radiologist, assessment="v1")
    results = run_together(
        lambda: opinions.opinion_update(opinion=opinion, by=radiologist, expected_version=1, assessment="tab A"),
        lambda: opinions.opinion_update(opinion=opinion, by=radiologist, expected_version=1, assessment="tab B"),
    )
    assert sorted(kind for kind, _ in results) == ["ok", "refused"]
    winner = next(value for kind, value in results if kind == "ok")
    assert isinstance(next(v for k, v in results if k == "refused"), StaleVersion)
    opinion.refresh_from_db()
    assert (opinion.assessment, opinion.version) == (winner.assessment, 2)
    assert m.AuditEvent.objects.filter(action="opinion.update").count() == 1


@pytest.mark.postgres
def test_concurrent_audit_writers_keep_one_unbroken_chain(
    postgres_only, make_case, coordinator, radiologist, pathologist, orthopaedic
):
    from cases.services.audit import audit_verify_chain

    cases_ = [make_case("intake") for _ in range(4)]
    results = run_together(
        *[
            (lambda c=c, u=u: opinions.opinion_record(case=c, by=u, assessment="x"))
            for c in cases_
            for u in (radiologist, pathologist, orthopaedic)
        ]
    )
    assert all(kind == "ok" for kind, _ in results)
    report = audit_verify_chain()
    assert report.ok and report.checked == m.AuditEvent.objects.count() >= 12
