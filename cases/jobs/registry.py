"""The job kinds. A job function takes the Job and its args, reports progress, and returns a JSON result.

Every job must be safe to run twice (a worker can die after the work and before recording it): jobs
here write content-addressed files or check before they write.
"""

from collections.abc import Callable

JOBS: dict[str, Callable] = {}


class JobRefused(Exception):
    """The work can never succeed as asked (a PDF/A print that would miss glyphs): no retry; the message is
    shown to the person who asked, so it must name no patient beyond what they may see."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message, self.code = message, code


def job(name: str) -> Callable[[Callable], Callable]:
    def register(function: Callable) -> Callable:
        JOBS[name] = function
        return function

    return register
