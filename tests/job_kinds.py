"""Job kinds for the job tests only (imported by the test module and by the worker processes it starts)."""

import time

from cases.jobs.registry import job


@job("test.sleep")
def sleep(job, *, progress, seconds: float, steps: int = 1):
    for step in range(steps):
        time.sleep(seconds / steps)
        progress(step + 1, steps)
    return {"slept": seconds, "attempt": job.attempts}


@job("test.flaky")
def flaky(job, *, progress, fail_times: int):
    if job.attempts <= fail_times:
        raise ConnectionError(f"attempt {job.attempts} failed on purpose")
    return {"attempt": job.attempts}
