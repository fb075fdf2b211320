"""The job worker: claim a due job with a lease, run it, record the result; retry failures with backoff.

A claim is a compare-and-set on the row (status and lease as read), so two workers on any database
never both win the same job. A running job renews its lease whenever it reports progress; a job
whose lease has run out belongs to a worker that died, and is claimed again.
"""

import logging
import os
import socket
import traceback
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F, Min, Q
from django.utils import timezone

from ..models import Job, JobStatus
from . import broker
from .registry import JOBS, JobRefused

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int) -> timedelta:
    """The pause before attempt n+1: base × 2^(n−1), at most the cap."""
    seconds = settings.JOBS_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.JOBS_RETRY_MAX_SECONDS))


def _due(now) -> Q:
    queued = Q(status=JobStatus.QUEUED, run_after__lte=now)
    abandoned = Q(status=JobStatus.RUNNING, lease_until__lt=now)
    return queued | abandoned


def _take(job: Job, worker: str) -> Job | None:
    """Compare-and-set: the job becomes this worker's only if it is still as it was read."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    won = Job.objects.filter(pk=job.pk, status=job.status, lease_until=job.lease_until).update(
        status=JobStatus.RUNNING, lease_until=lease, worker=worker, started_at=now, attempts=F("attempts") + 1
    )
    return Job.objects.get(pk=job.pk) if won else None


def claim(worker: str) -> Job | None:
    due = Job.objects.filter(_due(timezone.now())).order_by("run_after", "id").only("id", "status", "lease_until")
    for candidate in due[:5]:
        taken = _take(candidate, worker)
        if taken is not None:
            return taken
    return None


class Progress:
    """What a running job reports: `progress(done, total)` also renews the lease."""

    def __init__(self, job: Job, worker: str):
        self.job, self.worker = job, worker

    def __call__(self, done: int, total: int) -> None:
        lease = timezone.now() + timedelta(seconds=settings.JOBS_LEASE_SECONDS)
        Job.objects.filter(pk=self.job.pk, worker=self.worker).update(
            progress_done=done, progress_total=total, lease_until=lease
        )


def _silent(done: int, total: int) -> None:
    pass


def run(job: Job, worker: str, *, report_progress: bool = True) -> None:
    """Run a claimed job and record how it ended (only if this worker still holds it)."""
    mine = Job.objects.filter(pk=job.pk, worker=worker, status=JobStatus.RUNNING)
    progress = Progress(job, worker) if report_progress else _silent
    try:
        result = JOBS[job.kind](job, progress=progress, **job.args)
    except JobRefused as refusal:
        mine.update(
            status=JobStatus.FAILED,
            lease_until=None,
            finished_at=timezone.now(),
            error=f"JobRefused ({refusal.code}): {refusal.message}"[:4000],
            result={"refused": refusal.code, "message": refusal.message[:2000]},
        )
        return
    except Exception as error:  # noqa: BLE001 — every failure is recorded, none is lost
        message = f"{type(error).__name__}: {error}"[:2000]
        logger.warning("job %s (%s) attempt %s failed: %s", job.pk, job.kind, job.attempts, type(error).__name__)
        if job.attempts < job.max_attempts:
            mine.update(
                status=JobStatus.QUEUED,
                run_after=timezone.now() + backoff(job.attempts),
                lease_until=None,
                error=message + "\n" + traceback.format_exc(limit=5)[-4000:],
            )
        else:
            mine.update(
                status=JobStatus.FAILED,
                lease_until=None,
                finished_at=timezone.now(),
                error=message + "\n" + traceback.format_exc(limit=5)[-4000:],
            )
        return
    mine.update(status=JobStatus.DONE, lease_until=None, finished_at=timezone.now(), result=result or {}, error="")


def run_once(worker: str | None = None) -> bool:
    """Claim and run one due job; False when none was due."""
    worker = worker or worker_name()
    job = claim(worker)
    if job is None:
        return False
    logger.info("job %s (%s) attempt %s started by %s", job.pk, job.kind, job.attempts, worker)
    run(job, worker)
    return True


def run_inline(job: Job) -> None:
    """Run one job now in this process (JOBS_INLINE, the test suite's mode): the caller waits, so no progress."""
    worker = f"inline:{os.getpid()}"
    taken = _take(job, worker) if job.status == JobStatus.QUEUED else None
    if taken is not None:
        run(taken, worker, report_progress=False)


def idle_seconds(poll: float) -> float:
    """How long an idle worker may wait: the polling interval, or less when a retry's pause ends or a running
    job's lease runs out sooner. Nothing wakes a worker for those (the broker only carries new jobs), so with a
    broker and its long interval a retry or an abandoned job would otherwise wait for the next look."""
    soonest = Job.objects.aggregate(
        queued=Min("run_after", filter=Q(status=JobStatus.QUEUED)),
        leased=Min("lease_until", filter=Q(status=JobStatus.RUNNING)),
    )
    moments = [moment for moment in soonest.values() if moment is not None]
    if not moments:
        return poll
    return min(poll, max(0.05, (min(moments) - timezone.now()).total_seconds()))


def daily_round_due(now=None) -> str | None:
    """Today's date (ISO) once the local time has passed TUMORBOARD_DAILY_AT ("HH:MM"; empty turns it off)."""
    if not settings.TUMORBOARD_DAILY_AT:
        return None
    local = timezone.localtime(now)
    hour, minute = (int(part) for part in settings.TUMORBOARD_DAILY_AT.split(":"))
    return local.date().isoformat() if (local.hour, local.minute) >= (hour, minute) else None


def queue_daily_round(now=None) -> Job | None:
    """The day's round of notifications once it is due, queued once however many workers ask (the key is the day)."""
    day = daily_round_due(now)
    return None if day is None else _queue_round(day)


def _queue_round(day: str) -> Job:
    from ..services.jobs import job_enqueue

    return job_enqueue(kind="notify.daily", args={"day": day}, key=f"notify.daily:{day}", max_attempts=3)


def work(*, stop=lambda: False, poll_seconds: float | None = None) -> None:
    """Run jobs until `stop()`; between jobs wait for a wake-up, the polling interval, or the next due job.
    Once a day it also queues the round of reminders and digests (queue_daily_round)."""
    worker = worker_name()
    poll = poll_seconds if poll_seconds is not None else settings.JOBS_POLL_SECONDS
    logger.info("job worker %s started (%s)", worker, "redis wake-ups" if broker.uses_redis() else "polling")
    queued_for = None
    while not stop():
        close_old_connections()
        day = daily_round_due()
        if day is not None and day != queued_for:  # the table is asked once a day, not at every poll
            _queue_round(day)
            queued_for = day
        if not run_once(worker):
            broker.wait(idle_seconds(poll))
