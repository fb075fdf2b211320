"""Background jobs: enqueue (idempotent on its key), claim with a lease, retry with backoff, fail visibly,
survive a killed worker; and real worker processes, polling the table or woken through a real Redis."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from cases import models as m
from cases.jobs import worker
from cases.services.jobs import job_enqueue, job_retry
from tests import job_kinds  # noqa: F401 - registers test.sleep and test.flaky

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _queued_not_inline(settings):
    settings.JOBS_INLINE = False
    settings.JOBS_RETRY_BASE_SECONDS = 5


def test_a_job_is_queued_and_a_worker_runs_it():
    job = job_enqueue(kind="test.sleep", args={"seconds": 0, "steps": 2})
    assert job.status == m.JobStatus.QUEUED and job.attempts == 0
    assert worker.run_once("w1") is True
    job.refresh_from_db()
    assert job.status == m.JobStatus.DONE
    assert job.result == {"slept": 0, "attempt": 1}
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.worker == "w1" and job.finished_at and job.lease_until is None
    assert worker.run_once("w1") is False


def test_the_same_key_joins_the_job_already_there():
    first = job_enqueue(kind="test.sleep", args={"seconds": 0}, key="packet:abc")
    second = job_enqueue(kind="test.sleep", args={"seconds": 0}, key="packet:abc")
    assert second.pk == first.pk
    worker.run_once("w1")
    assert job_enqueue(kind="test.sleep", args={"seconds": 0}, key="packet:abc").pk == first.pk
    assert m.Job.objects.count() == 1


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown job kind"):
        job_enqueue(kind="nope", args={})


def test_a_failure_is_retried_after_a_growing_pause_then_fails_visibly(settings):
    job = job_enqueue(kind="test.flaky", args={"fail_times": 99}, max_attempts=3)
    pauses = []
    for attempt in (1, 2):
        before = timezone.now()
        assert worker.run_once("w1")
        job.refresh_from_db()
        assert job.status == m.JobStatus.QUEUED and job.attempts == attempt
        assert "ConnectionError: attempt" in job.error
        pauses.append((job.run_after - before).total_seconds())
        assert worker.run_once("w1") is False  # not due yet
        m.Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert 4.5 < pauses[0] < 6 and 9.5 < pauses[1] < 11  # 5 s, then 10 s
    assert worker.run_once("w1")
    job.refresh_from_db()
    assert job.status == m.JobStatus.FAILED and job.attempts == 3
    assert "attempt 3 failed on purpose" in job.error


def test_a_flaky_job_succeeds_on_a_later_attempt():
    job = job_enqueue(kind="test.flaky", args={"fail_times": 1})
    worker.run_once("w1")
    m.Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    worker.run_once("w1")
    job.refresh_from_db()
    assert job.status == m.JobStatus.DONE and job.result == {"attempt": 2}


def test_an_administrator_retries_a_failed_job_and_it_is_audited(chair):
    job = job_enqueue(kind="test.flaky", args={"fail_times": 1}, max_attempts=1)
    worker.run_once("w1")
    job.refresh_from_db()
    assert job.status == m.JobStatus.FAILED
    job_retry(job=job, by=chair)
    job.refresh_from_db()
    assert job.status == m.JobStatus.QUEUED and job.attempts == 0 and job.error == ""
    assert m.AuditEvent.objects.filter(action="job.retry", object_id=str(job.pk)).exists()


def test_a_claim_is_won_by_one_worker_only():
    job_enqueue(kind="test.sleep", args={"seconds": 0})
    assert worker.claim("w1") is not None
    assert worker.claim("w2") is None


def test_a_job_whose_worker_died_is_claimed_again_when_its_lease_runs_out():
    job = job_enqueue(kind="test.sleep", args={"seconds": 0})
    worker.claim("dead-worker")  # claimed, then the worker vanished
    assert worker.claim("w2") is None  # its lease still runs
    m.Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert worker.run_once("w2")
    job.refresh_from_db()
    assert job.status == m.JobStatus.DONE and job.attempts == 2 and job.worker == "w2"


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_result():
    job = job_enqueue(kind="test.sleep", args={"seconds": 0})
    stale = worker.claim("slow")
    m.Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    worker.run_once("fast")
    worker.run(stale, "slow")  # finishes late: its record is ignored
    job.refresh_from_db()
    assert job.worker == "fast" and job.status == m.JobStatus.DONE


def test_the_job_admin_lists_failed_jobs_with_their_error(admin_client):
    job = job_enqueue(kind="test.flaky", args={"fail_times": 1}, max_attempts=1)
    worker.run_once("w1")
    page = admin_client.get("/admin/cases/job/?status__exact=failed")
    assert page.status_code == 200
    assert f"job {job.pk} test.flaky (failed)" in page.content.decode()
    job.refresh_from_db()
    last_line = job.error.strip().splitlines()[-1]
    assert "Error" in page.content.decode() and escape(last_line) in page.content.decode()
    # The detail page shows the whole error and offers nothing to save or delete; a POST changes nothing.
    detail = admin_client.get(f"/admin/cases/job/{job.pk}/change/").content.decode()
    assert escape(last_line) in detail and 'name="_save"' not in detail and 'name="_continue"' not in detail
    assert admin_client.post(f"/admin/cases/job/{job.pk}/change/", {"status": "done"}).status_code == 403
    assert m.Job.objects.get(pk=job.pk).status == m.JobStatus.FAILED
    response = admin_client.post(
        "/admin/cases/job/", {"action": "retry_jobs", "_selected_action": [job.pk]}, follow=True
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == m.JobStatus.QUEUED


# Real worker processes (they read the test database, so the rows must be committed) -----------------


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(**env) -> subprocess.Popen:
    code = (
        "import django; django.setup(); import tests.job_kinds;"
        "from django.core.management import call_command; call_command('jobs_worker')"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUMORBOARD_JOBS")}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "tumorboard.settings",
            "DJANGO_SECRET_KEY": "k" * 50,
            "DATABASE_URL": _database_url(),
            "TUMORBOARD_DAILY_AT": "",  # these workers run the tests' jobs only, not the day's notifications
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def status_of(job) -> str:
    return m.Job.objects.get(pk=job.pk).status


def _redis_or_skip() -> str:
    from tests.test_health import redis_or_skip

    return redis_or_skip(os.environ.get("TUMORBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))


@pytest.fixture(params=["polling", "redis"])
def jobs_mode(request, settings):
    """The worker's environment in each mode. With Redis it looks at the table only every 60 s on its own, so
    a job run within the test's wait was started by a wake-up, or when the table said it would be due."""
    if request.param == "polling":
        yield {"TUMORBOARD_JOBS_POLL_SECONDS": "0.2"}
        return
    from cases.jobs import broker

    url = _redis_or_skip()
    settings.JOBS_BROKER = url  # this process enqueues: its wake-ups go through the same Redis
    broker._redis.cache_clear()
    broker._redis().delete(broker.QUEUE_KEY)
    yield {"TUMORBOARD_JOBS_BROKER": url, "TUMORBOARD_JOBS_POLL_SECONDS": "60"}
    broker._redis().delete(broker.QUEUE_KEY)
    broker._redis.cache_clear()


def ready(process: subprocess.Popen) -> subprocess.Popen:
    assert b"Job worker started" in process.stdout.readline()
    return process


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_loses_nothing(postgres_only, jobs_mode):
    first = ready(start_worker(TUMORBOARD_JOBS_LEASE_SECONDS="10", **jobs_mode))
    try:
        job = job_enqueue(kind="test.sleep", args={"seconds": 30})
        wait_for(lambda: status_of(job) == m.JobStatus.RUNNING)
        os.killpg(first.pid, signal.SIGKILL)  # no chance to clean up
        first.wait()
        assert status_of(job) == m.JobStatus.RUNNING  # what a dead worker leaves behind
        m.Job.objects.filter(pk=job.pk).update(args={"seconds": 0.2})  # the retry need not take 30 s
        # Nothing wakes the second worker: it claims the job when the dead worker's lease runs out (10 s).
        second = ready(start_worker(TUMORBOARD_JOBS_LEASE_SECONDS="10", **jobs_mode))
        try:
            wait_for(lambda: status_of(job) == m.JobStatus.DONE, timeout=30)
        finally:
            stop(second)
    finally:
        stop(first)
    job.refresh_from_db()
    assert job.attempts == 2 and job.result["attempt"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_retries_with_backoff_then_fails_visibly_and_an_administrator_retry_runs_it(
    postgres_only, jobs_mode, chair, tmp_path
):
    log = tmp_path / "runs.log"
    process = ready(start_worker(TUMORBOARD_JOBS_RETRY_BASE_SECONDS="1", **jobs_mode))
    try:
        job = job_enqueue(kind="test.flaky_logged", args={"log": str(log), "fail_times": 3}, max_attempts=3)
        wait_for(lambda: status_of(job) == m.JobStatus.FAILED, timeout=30)
        job.refresh_from_db()
        assert job.attempts == 3 and "ConnectionError: run 3 failed on purpose" in job.error
        runs = [float(line) for line in log.read_text().split()]
        pauses = [later - earlier for earlier, later in zip(runs, runs[1:], strict=False)]
        assert len(pauses) == 2 and pauses[0] >= 1 and pauses[1] >= 2  # never retried before its pause: 1 s, 2 s
        job_retry(job=job, by=chair)
        wait_for(lambda: status_of(job) == m.JobStatus.DONE, timeout=30)
    finally:
        stop(process)
    job.refresh_from_db()
    assert job.result == {"runs": 4, "attempt": 1} and job.error == ""
    assert m.AuditEvent.objects.filter(action="job.retry", object_id=str(job.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_redis_broker_a_worker_wakes_at_once(postgres_only, settings):
    url = _redis_or_skip()
    settings.JOBS_BROKER = url
    from cases.jobs import broker

    broker._redis.cache_clear()
    broker._redis().delete(broker.QUEUE_KEY)
    # It polls the table only every 60 s: a job done within seconds was started by the Redis wake-up.
    process = ready(start_worker(TUMORBOARD_JOBS_BROKER=url, TUMORBOARD_JOBS_POLL_SECONDS="60"))
    try:
        time.sleep(1)  # it has looked at the table once and is now blocked on Redis
        started = time.monotonic()
        job = job_enqueue(kind="test.sleep", args={"seconds": 0})
        wait_for(lambda: status_of(job) == m.JobStatus.DONE, timeout=20)
        waited = time.monotonic() - started
    finally:
        stop(process)
        broker._redis.cache_clear()
    job.refresh_from_db()
    picked = (job.started_at - job.created_at).total_seconds()
    print(
        f"\njob started {picked:.3f} s after enqueue through Redis, done after {waited:.2f} s (table polled every 60 s)"
    )
    assert picked < 5


def test_an_unreachable_broker_never_blocks_an_enqueue_or_stops_a_worker(settings, caplog):
    from cases.jobs import broker

    with socket_closed_port() as port:
        settings.JOBS_BROKER = f"redis://127.0.0.1:{port}/0"
        broker._redis.cache_clear()
        try:
            broker.wake(1)  # logged, not raised: the job is in the table
            started = time.monotonic()
            broker.wait(1)  # falls back to sleeping the polling interval
            assert 0.9 < time.monotonic() - started < 5
        finally:
            broker._redis.cache_clear()
    assert "job broker unavailable" in caplog.text


def socket_closed_port():
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        yield port  # nothing listens there any more

    return closed()


def test_the_worker_loop_asks_for_the_days_round_once_a_day(settings, monkeypatch):
    """Past TUMORBOARD_DAILY_AT the loop queues the round, then no more that day: not at every poll."""
    settings.TUMORBOARD_DAILY_AT = "00:00"
    asked = []
    queue = worker._queue_round
    monkeypatch.setattr(worker, "_queue_round", lambda day: asked.append(day) or queue(day))
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)  # the test's transaction stays open
    turns = iter([False, False, False, True])
    worker.work(stop=lambda: next(turns), poll_seconds=0.01)
    assert asked == [timezone.localdate().isoformat()]
    assert m.Job.objects.filter(kind="notify.daily", status=m.JobStatus.DONE).count() == 1
