"""Wake-ups for workers. Without a broker workers poll the job table; with TUMORBOARD_JOBS_BROKER=redis://…
each enqueue pushes the job id to a Redis list that idle workers block on, so a job starts at once.

The list only wakes workers: they always claim from the table, so a lost or duplicated wake-up is harmless.
"""

import functools
import logging
import math
import time

from django.conf import settings

logger = logging.getLogger(__name__)

QUEUE_KEY = "tumorboard:jobs:wake"


@functools.cache
def _redis():
    import redis

    # No read timeout: a worker blocks on BRPOP for its whole polling interval, and BRPOP has its own timeout.
    return redis.Redis.from_url(
        settings.JOBS_BROKER, socket_connect_timeout=5, socket_timeout=None, socket_keepalive=True
    )


def uses_redis() -> bool:
    return settings.JOBS_BROKER.startswith(("redis://", "rediss://"))


def wake(job_id: int) -> None:
    if not uses_redis():
        return
    import redis

    try:
        _redis().lpush(QUEUE_KEY, job_id)
    except redis.exceptions.RedisError as error:
        # The job is in the table: a worker finds it at its next look, so the request goes on.
        logger.warning(
            "job broker unavailable (%s): job %s waits for a worker's next look", type(error).__name__, job_id
        )


def wait(seconds: float) -> None:
    """Block until a job is enqueued or `seconds` pass. A broker that fails only costs the wake-up."""
    if uses_redis():
        import redis

        try:
            # Whole seconds, at least one: BRPOP's 0 blocks for ever, and servers before Redis 6 take no fractions.
            _redis().brpop([QUEUE_KEY], timeout=max(1, math.ceil(seconds)))
            return
        except redis.exceptions.RedisError as error:
            logger.warning("job broker unavailable (%s): polling the job table instead", type(error).__name__)
    time.sleep(seconds)


def ping() -> None:
    if uses_redis():
        _redis().ping()
