"""The job kinds. A job function takes the Job and its args, reports progress, and returns a JSON result.

Every job must be safe to run twice (a worker can die after the work and before recording it): jobs
here write content-addressed files or check before they write.
"""

from collections.abc import Callable

JOBS: dict[str, Callable] = {}


def job(name: str) -> Callable[[Callable], Callable]:
    def register(function: Callable) -> Callable:
        JOBS[name] = function
        return function

    return register
