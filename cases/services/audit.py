"""The audit trail: one append-only, keyed row for every write and every read of patient data.

Each event is authenticated with HMAC-SHA-256 under TUMORBOARD_AUDIT_KEY, a key that never enters the
database; its order is the database's sequence, so writers share no lock. Sealing and verification
(checkpoints outside the database) live in services/audit_seal.py.
"""

import contextvars
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.ipv6 import clean_ipv6_address

from ..models import AuditEvent, Case, ImagingStudy, Patient
from ..types import AnyUser, User

if TYPE_CHECKING:
    from .audit_seal import AuditReport


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None
    request: HttpRequest | None = None


_NO_REQUEST = RequestContext()
_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "tumorboard_request_context", default=None
)


def bind_request_context(
    *, request_id: str, ip_address: str | None, request: HttpRequest | None = None
) -> contextvars.Token[RequestContext | None]:
    return _request_context.set(RequestContext(request_id=request_id, ip_address=ip_address, request=request))


def current_actor() -> User | None:
    """The signed-in user of the request being served (for changes made through signals), or None."""
    context = _request_context.get() or _NO_REQUEST
    user = getattr(context.request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def reset_request_context(token: contextvars.Token[RequestContext | None]) -> None:
    _request_context.reset(token)


def jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{"field": [before, after]} for each field that changed."""
    return {name: [before.get(name), after[name]] for name in after if before.get(name) != after[name]}


class _OfAStudy(Protocol):
    study: ImagingStudy


def _patient_and_case(obj: models.Model) -> tuple[int | None, int | None]:
    if isinstance(obj, Patient):
        return obj.pk, None
    if isinstance(obj, Case):
        return obj.patient_id, obj.pk
    case = getattr(obj, "case", None)
    if case is None and getattr(obj, "study_id", None):
        case = cast(_OfAStudy, obj).study.case  # a key image, an addendum: a row of a study
    if isinstance(case, Case):
        return case.patient_id, case.pk
    return None, None


@dataclass(frozen=True)
class AuditKeys:
    current_id: str
    current: bytes
    by_id: dict[str, bytes]


def key_id_of(key: bytes) -> str:
    """A short public name for a key (a hash of it): events and checkpoints say which key signed them."""
    return hashlib.sha256(b"tumorboard-audit-key-id:" + key).hexdigest()[:16]


_keys_cache: dict[tuple[str, tuple[str, ...]], AuditKeys] = {}


def audit_keys() -> AuditKeys:
    """The signing key and every key still accepted for verification (TUMORBOARD_AUDIT_OLD_KEYS)."""
    current_text = settings.TUMORBOARD_AUDIT_KEY
    old = tuple(settings.TUMORBOARD_AUDIT_OLD_KEYS)
    cache_key = (current_text, old)
    if cache_key not in _keys_cache:
        if not current_text:
            raise ImproperlyConfigured(settings.TUMORBOARD_AUDIT_KEY_MISSING_MESSAGE)
        current = current_text.encode()
        by_id = {key_id_of(key.encode()): key.encode() for key in old if key}
        by_id[key_id_of(current)] = current
        _keys_cache.clear()
        _keys_cache[cache_key] = AuditKeys(current_id=key_id_of(current), current=current, by_id=by_id)
    return _keys_cache[cache_key]


def mac_of(key: bytes, payload: bytes) -> str:
    return hmac.digest(key, payload, "sha256").hex()


def _clean_address(address: str | None) -> str | None:
    # The text the database gives back (PostgreSQL's inet writes IPv6 its own way), so the MAC still matches.
    if address and ":" in address:
        try:
            return clean_ipv6_address(address)
        except Exception:
            return None
    return address


def audit_record(
    *,
    actor: AnyUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: int | None = None,
    case_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""  # a model always has a model_name
        object_id = object_id or obj.pk
        found_patient, found_case = _patient_and_case(obj)
        patient_id = patient_id or found_patient
        case_id = case_id or found_case
    context = _request_context.get() or _NO_REQUEST
    user = actor if actor is not None and actor.is_authenticated else None
    keys = audit_keys()
    event = AuditEvent(
        created_at=timezone.now(),
        actor=user,
        actor_username=user.get_username() if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:40],
        patient_id=patient_id,
        case_id=case_id,
        changes=_storable(json.loads(json.dumps(changes or {}, default=str))),
        request_id=context.request_id,
        ip_address=_clean_address(context.ip_address),
        key_id=keys.current_id,
    )
    event.mac = mac_of(keys.current, event.payload())
    # One INSERT, no lock: the database's sequence orders concurrent writers.
    event.save(force_insert=True)
    if context.request is not None:
        # The page-read fallback (middleware) then writes nothing more. A flag of our own on the request, the
        # Django idiom for middleware; django-stubs' HttpRequest declares no room for one.
        context.request.tb_audited = True  # type: ignore[attr-defined]
    return event


def _storable(value: object) -> object:
    """NUL written as \\x00: a probe's query may hold one, and PostgreSQL's JSON cannot (nor any text column)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


LIST_IDS_LIMIT = 500


def _row_patient_and_case(row: models.Model) -> tuple[int | None, int | None]:
    """From what a row already holds (no query): a patient, a case, or a row of a case (or of a patient)."""
    if isinstance(row, Patient):
        return row.pk, None
    if isinstance(row, Case):
        return row.patient_id, row.pk
    case_id = getattr(row, "case_id", None)
    cached = row._state.fields_cache.get("case") if hasattr(row, "_state") else None
    patient_id = getattr(row, "patient_id", None)  # an audit event, an emergency access
    return (patient_id if patient_id is not None else cached.patient_id if cached is not None else None), case_id


@dataclass(frozen=True)
class Returned:
    """What a list, search or export returned: how many rows, and the ids of the rows, patients and cases."""

    count: int
    ids: list[Any]  # primary keys: numbers, or a user's for a user-keyed row
    patient_ids: list[int]
    case_ids: list[int]


def returned_by(rows: Iterable[models.Model]) -> Returned:
    """Ids taken from the rows as loaded (no query of their own); a case's patient is known from the case."""
    ids: list[Any] = []
    patient_ids: set[int] = set()
    case_ids: set[int] = set()
    for row in rows:
        ids.append(row.pk)
        patient, case = _row_patient_and_case(row)
        if patient is not None:
            patient_ids.add(patient)
        if case is not None:
            case_ids.add(case)
    return Returned(len(ids), ids, sorted(patient_ids), sorted(case_ids))


def audit_list(
    *,
    actor: AnyUser | None,
    action: str,
    query: Mapping[str, Any] | None = None,
    rows: Sequence[models.Model] = (),
    returned: Returned | None = None,
    object_type: str = "",
    object_id: str | int = "",
    extra: Mapping[str, Any] | None = None,
    anchor: bool = True,
) -> AuditEvent:
    """One event for a page of a list, a search or an export: the query and the ids it returned.

    The ids come from `rows`, or from `returned` when the rows are streamed after the event (an export).
    With one patient (or case) the event is filed under it, so the patient's trail shows the read; `anchor=False`
    leaves that out, for reads of the trail itself (each reading would otherwise join the trail it filters).
    """
    returned = returned or returned_by(rows)
    if isinstance(query, MultiValueDict):  # request.GET, DRF's query_params: a name may repeat
        query = {name: values if len(values) > 1 else values[0] for name, values in query.lists()}
    changes = {
        "query": {name: value for name, value in (query or {}).items() if name != "csrfmiddlewaretoken"},
        "count": returned.count,
        "ids": returned.ids[:LIST_IDS_LIMIT],
        "patient_ids": returned.patient_ids[:LIST_IDS_LIMIT],
        "case_ids": returned.case_ids[:LIST_IDS_LIMIT],
        **(extra or {}),
    }
    single = anchor and len(returned.patient_ids) == 1, anchor and len(returned.case_ids) == 1
    return audit_record(
        actor=actor,
        action=action,
        object_type=object_type or (rows[0]._meta.model_name or "" if returned.count and rows else ""),
        object_id=object_id,
        patient_id=returned.patient_ids[0] if single[0] else None,
        case_id=returned.case_ids[0] if single[1] else None,
        changes=changes,
    )


def audit_verify_chain(**kwargs: bool) -> "AuditReport":
    """Kept for callers of the old name: verify_audit's check (services/audit_seal.py)."""
    from .audit_seal import audit_verify

    return audit_verify(**kwargs)
