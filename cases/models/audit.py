import json
import uuid

from django.conf import settings
from django.db import models

from .errors import FrozenRecordError

APPEND_ONLY = "Audit events are append-only."


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise FrozenRecordError(APPEND_ONLY)

    def delete(self):
        raise FrozenRecordError(APPEND_ONLY)

    def bulk_update(self, *args, **kwargs):
        raise FrozenRecordError(APPEND_ONLY)

    def _raw_delete(self, *args, **kwargs):
        raise FrozenRecordError(APPEND_ONLY)

    def order_by(self, *field_names):
        # The place in the trail was a `sequence` column; it is the primary key now. Old callers still sort.
        renamed = {"sequence": "id", "-sequence": "-id"}
        return super().order_by(*(renamed.get(name, name) if isinstance(name, str) else name for name in field_names))


class AuditManager(models.Manager.from_queryset(AuditQuerySet)):
    """The default and (Meta.base_manager_name) the base manager: neither updates nor deletes."""


class AuditEvent(models.Model):
    """Append-only record of every write and every read of patient data.

    Events take their order from the database's own sequence (the primary key): no lock is shared
    between writers. Each event carries an HMAC-SHA-256 over its content under a key kept outside the
    database (`key_id` names it), so an edit needs the key; `seal_audit` writes checkpoints outside the
    database that fix the order and number of events sealed so far (cases/services/audit_seal.py).
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    key_id = models.CharField(max_length=16)
    mac = models.CharField(max_length=64)

    objects = AuditManager()

    class Meta:
        ordering = ["-id"]
        base_manager_name = "objects"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.actor_username or 'system'} {self.action} {self.object_type} {self.object_id}"

    @property
    def sequence(self) -> int | None:
        """The event's place in the trail: the database's own sequence."""
        return self.pk

    def payload(self) -> bytes:
        """What the event's MAC covers (everything but its place, which the checkpoints fix)."""
        return canonical_payload(
            created_at=self.created_at,
            actor_id=self.actor_id,
            actor_username=self.actor_username,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            patient_id=self.patient_id,
            case_id=self.case_id,
            changes=self.changes,
            request_id=self.request_id,
            ip_address=self.ip_address,
            key_id=self.key_id,
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise FrozenRecordError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FrozenRecordError(APPEND_ONLY)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_payload(
    *,
    created_at,
    actor_id,
    actor_username,
    action,
    object_type,
    object_id,
    patient_id,
    case_id,
    changes,
    request_id,
    ip_address,
    key_id,
) -> bytes:
    # A list in a fixed order: one encoding whatever the database returns (one encoder, made once).
    return _CANONICAL.encode(
        [
            1,
            created_at.isoformat(),
            actor_id,
            actor_username,
            action,
            object_type,
            object_id,
            patient_id,
            case_id,
            changes,
            request_id,
            ip_address,
            key_id,
        ]
    ).encode()


class AuditDatabase(models.Model):
    """This database's identity, created once by migration: every checkpoint names it.

    A checkpoint file that names another database is reported as belonging elsewhere, not as tampering.
    """

    database_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"audit database {self.database_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise FrozenRecordError("The database id never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FrozenRecordError("The database id never changes.")
