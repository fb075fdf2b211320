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


@job("test.flaky_logged")
def flaky_logged(job, *, progress, log: str, fail_times: int):
    """Fails its first `fail_times` runs, counted in a file (an administrator's retry starts attempts from 0),
    and writes when each run started, so a test sees the pauses between them."""
    with open(log, "a") as lines:
        lines.write(f"{time.time()}\n")
    with open(log) as lines:
        runs = len(lines.readlines())
    if runs <= fail_times:
        raise ConnectionError(f"run {runs} failed on purpose")
    return {"runs": runs, "attempt": job.attempts}
