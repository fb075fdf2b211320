"""Wake-ups for workers. Without a broker workers poll the job table; with TUMORBOARD_JOBS_BROKER=redis://…
each enqueue pushes the job id to a Redis list that idle workers block on, so a job starts at once.

The list only wakes workers: they always claim from the table, so a lost or duplicated wake-up is harmless.
"""

import functools

from django.conf import settings

QUEUE_KEY = "tumorboard:jobs:wake"


@functools.cache
def _redis():
    import redis

    # No read timeout: a worker blocks on BRPOP for its whole polling interval, and BRPOP has its own timeout.
    return redis.Redis.from_url(settings.JOBS_BROKER, socket_connect_timeout=5, socket_keepalive=True)


def uses_redis() -> bool:
    return settings.JOBS_BROKER.startswith(("redis://", "rediss://"))


def wake(job_id: int) -> None:
    if uses_redis():
        _redis().lpush(QUEUE_KEY, job_id)


def wait(seconds: float) -> None:
    """Block until a job is enqueued or `seconds` pass."""
    if uses_redis():
        _redis().brpop([QUEUE_KEY], timeout=max(1, int(seconds)))
    else:
        import time

        time.sleep(seconds)


def ping() -> None:
    if uses_redis():
        _redis().ping()
