"""Enqueueing and retrying background jobs (cases/jobs/). Enqueueing is idempotent on the job's key."""

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..jobs import broker
from ..jobs.registry import JOBS
from ..models import Job, JobStatus, Meeting
from ..types import AnyUser, User
from .audit import audit_record


def job_enqueue(
    *, kind: str, args: dict[str, Any], by: AnyUser | None = None, key: str | None = None, max_attempts: int = 5
) -> Job:
    """Queue a job, or return the job with the same key (queued, running or done: the caller joins it)."""
    if kind not in JOBS:
        raise ValueError(f"Unknown job kind {kind!r}.")
    if key is not None:
        existing = Job.objects.filter(key=key).first()
        # A refused job is not retried for the same content (the key): it would be refused again.
        if existing is not None and (existing.status != JobStatus.FAILED or existing.result.get("refused")):
            return existing
        if existing is not None:
            return job_retry(job=existing, by=by)
    user = by if by is not None and by.is_authenticated else None
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind, args=args, key=key, created_by=user, run_after=timezone.now(), max_attempts=max_attempts
            )
    except IntegrityError:
        # Another request enqueued the same key a moment ago: join it.
        return Job.objects.get(key=key)
    if settings.JOBS_INLINE:
        from ..jobs.worker import run_inline

        run_inline(job)
        job.refresh_from_db()
        return job
    transaction.on_commit(lambda: broker.wake(job.pk))
    return job


def job_retry(*, job: Job, by: AnyUser | None) -> Job:
    """Queue a failed job again from its first attempt (administrators, from the admin)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status != JobStatus.FAILED:
            return job
        job.status, job.attempts, job.run_after, job.error = JobStatus.QUEUED, 0, timezone.now(), ""
        job.lease_until, job.finished_at, job.progress_done = None, None, 0
        job.save(
            update_fields=["status", "attempts", "run_after", "error", "lease_until", "finished_at", "progress_done"]
        )
        audit_record(actor=by, action="job.retry", obj=job, changes={"kind": job.kind})
    transaction.on_commit(lambda: broker.wake(job.pk))
    return job


def job_wait(*, job: Job, seconds: float, step: float = 0.2) -> Job:
    """Re-read the job until it has finished or `seconds` have passed (an API download's short wait)."""
    import time

    deadline = time.monotonic() + seconds
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(step)
        job.refresh_from_db()
    return job


def packet_job_start(*, by: User, meeting: Meeting, fingerprint: str, pdfa: bool = False) -> Job:
    """Render a packet in the background, or join the job already rendering the same content."""
    args = {"meeting_id": meeting.pk, "user_id": by.pk, "pdfa": pdfa}
    return job_enqueue(kind="packet.render", args=args, by=by, key=f"packet:{fingerprint}")


def packet_prerender(*, meeting: Meeting, by: User) -> None:
    """After the agenda of a published meeting changed: render its packet now, so the print at the start
    of the meeting is a file read. Queued once the change is committed."""
    args = {"meeting_id": meeting.pk, "user_id": by.pk, "pdfa": False}
    transaction.on_commit(lambda: job_enqueue(kind="packet.render", args=args, by=by))
