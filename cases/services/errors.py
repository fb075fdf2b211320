"""Refusals a service can raise besides PermissionDenied, Http404 and ValidationError.

Each carries a stable `code` for the API and a sentence for people.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    code: str
    message: str


class ServiceError(Exception):
    code = "refused"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Conflict(ServiceError):
    """The request is valid but the object's current state does not allow it (HTTP 409)."""

    code = "conflict"


class StaleVersion(ServiceError):
    """The edit was based on an old version of the object (HTTP 412 with If-Match, else 409)."""

    code = "stale_version"

    def __init__(self, obj_label: str, expected: int, current: int):
        super().__init__(
            f"This {obj_label} was saved by someone else, or by you in another tab, after you opened it. "
            "Your change is not saved. Reload to see the current version, then apply your change again."
        )
        self.expected, self.current = expected, current


class GatesUnmet(ServiceError):
    """A move or signature was refused; `unmet` names every gate that is not met."""

    code = "gates_unmet"

    def __init__(self, headline: str, unmet: list[Gate]):
        super().__init__(headline + " " + " ".join(g.message for g in unmet))
        self.headline = headline
        self.unmet = unmet

    @property
    def codes(self) -> list[str]:
        return [g.code for g in self.unmet]
