"""Creates that happen once per key: a double click, a Back-and-resubmit or a client's retry answers with
what the first request made instead of making it again.

The key row is inserted first, in the same transaction as the create. Two requests racing with one key
meet at the row's unique index: the second waits there for the first to commit, then finds its result.
A refused create rolls the key back with everything else, so the corrected form or request can try again.
"""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.apps import apps
from django.db import IntegrityError, models, transaction

from ..models import IdempotencyKey
from ..types import User
from .errors import ServiceError

T = TypeVar("T")


class IdempotencyKeyReused(ServiceError):
    """The key was already used for a different request (HTTP 422)."""

    code = "idempotency_key_reused"


def fingerprint_of(data: object) -> str:
    """A digest of what was sent, independent of key order and of multipart boundaries."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent_create(
    *,
    user: User,
    key: str,
    scope: str,
    fingerprint: str,
    create: Callable[[], T],
    record: Callable[[IdempotencyKey, T], None],
) -> tuple[bool, T | IdempotencyKey]:
    """(True, create()'s result) the first time; (False, the first request's key row) for a repeat.

    `record(row, result)` notes on the row what the first request made (its object, its answer).
    A repeat with another scope or fingerprint is refused: one key, one request.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(user=user, key=key, scope=scope, fingerprint=fingerprint)
        except IntegrityError:
            prior = IdempotencyKey.objects.get(user=user, key=key)
            if prior.scope != scope or prior.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request. "
                    "Send a new key for a new request, or repeat the first request unchanged.",
                ) from None
            return False, prior
        result = create()
        record(row, result)
        row.save(update_fields=["object_type", "object_id", "response"])
        return True, result


def earlier_result(*, user: User, key: str, scope: str) -> models.Model | None:
    """What an earlier request with this key and scope made, if there was one."""
    row = IdempotencyKey.objects.filter(user=user, key=key, scope=scope).first()
    return created_object(row) if row is not None else None


def created_object(row: IdempotencyKey) -> models.Model | None:
    """The object the first request made, if it still exists."""
    if not row.object_type or row.object_id is None:
        return None
    return apps.get_model(row.object_type).objects.filter(pk=row.object_id).first()


def note_object(row: IdempotencyKey, obj: models.Model) -> None:
    row.object_type, row.object_id = obj._meta.label_lower, obj.pk
