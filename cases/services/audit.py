"""The audit trail: one append-only, hash-chained row for every write and every read of patient data."""

import contextvars
import json
from dataclasses import dataclass
from datetime import date, datetime

from django.db import models, transaction
from django.utils import timezone

from ..models import AuditChainHead, AuditEvent, Case, Patient


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None


_NO_REQUEST = RequestContext()
_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "tumorboard_request_context", default=None
)


def bind_request_context(*, request_id: str, ip_address: str | None) -> contextvars.Token:
    return _request_context.set(RequestContext(request_id=request_id, ip_address=ip_address))


def reset_request_context(token: contextvars.Token) -> None:
    _request_context.reset(token)


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def diff(before: dict, after: dict) -> dict:
    """{"field": [before, after]} for each field that changed."""
    return {name: [before.get(name), after[name]] for name in after if before.get(name) != after[name]}


def _patient_and_case(obj) -> tuple[int | None, int | None]:
    if isinstance(obj, Patient):
        return obj.pk, None
    if isinstance(obj, Case):
        return obj.patient_id, obj.pk
    case = getattr(obj, "case", None)
    if case is None and getattr(obj, "study_id", None):
        case = obj.study.case
    if isinstance(case, Case):
        return case.patient_id, case.pk
    return None, None


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: int | None = None,
    case_id: int | None = None,
    changes: dict | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        found_patient, found_case = _patient_and_case(obj)
        patient_id = patient_id or found_patient
        case_id = case_id or found_case
    context = _request_context.get() or _NO_REQUEST
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        # Locking the head row orders concurrent writers, so the chain never forks.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            sequence=head.last_sequence + 1,
            created_at=timezone.now(),
            actor=user,
            actor_username=user.get_username() if user else "",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            patient_id=patient_id,
            case_id=case_id,
            changes=json.loads(json.dumps(changes or {}, default=str)),
            request_id=context.request_id,
            ip_address=context.ip_address,
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        head.last_sequence, head.last_hash = event.sequence, event.hash
        head.save(update_fields=["last_sequence", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken: AuditEvent | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def audit_verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Check every event in order against its hash and its predecessor, and the chain's head."""
    previous_hash, expected_sequence, checked = "0" * 64, 1, 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size):
        if event.sequence != expected_sequence:
            return ChainReport(checked, event, f"event #{expected_sequence} is missing before #{event.sequence}")
        if event.prev_hash != previous_hash:
            return ChainReport(checked, event, f"event #{event.sequence} does not follow from its predecessor")
        if event.compute_hash() != event.hash:
            return ChainReport(checked, event, f"event #{event.sequence} was changed after it was written")
        previous_hash, expected_sequence, checked = event.hash, expected_sequence + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_sequence, head.last_hash) != (checked, previous_hash):
        return ChainReport(checked, None, f"the chain ends at #{checked} but its head records #{head.last_sequence}")
    return ChainReport(checked)
