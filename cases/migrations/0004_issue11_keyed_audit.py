"""The audit trail becomes keyed and lock-free.

Each event gets an HMAC-SHA-256 under TUMORBOARD_AUDIT_KEY (`key_id`, `mac`) in place of the unkeyed hash
chain; its order is its primary key (the database's sequence), so the shared head row and the
`sequence`, `prev_hash` and `hash` columns go. Events written before this migration are checked against
their old chain first: a broken chain stops the migration (it would otherwise be signed as if intact).
This database gets its id for the checkpoints (`seal_audit`). SQLite gets the append-only triggers too.
"""

import hashlib
import hmac
import json
import uuid

from django.conf import settings
from django.db import migrations, models


def _legacy_hash(row) -> str:
    payload = {
        "sequence": row.sequence,
        "created_at": row.created_at.isoformat(),
        "actor_id": row.actor_id,
        "actor_username": row.actor_username,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "patient_id": row.patient_id,
        "case_id": row.case_id,
        "changes": row.changes,
        "request_id": row.request_id,
        "ip_address": row.ip_address,
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def drop_guard(apps, schema_editor):
    from cases import audit_guard

    audit_guard.uninstall(schema_editor.connection)


def sign_existing_events(apps, schema_editor):
    from cases.models.audit import canonical_payload

    AuditEvent = apps.get_model("cases", "AuditEvent")
    AuditDatabase = apps.get_model("cases", "AuditDatabase")
    if not AuditDatabase.objects.exists():
        AuditDatabase.objects.create(database_id=uuid.uuid4())
    events = AuditEvent.objects.order_by("sequence")
    if not events.exists():
        return
    key_text = settings.TUMORBOARD_AUDIT_KEY
    if not key_text:
        raise RuntimeError(settings.TUMORBOARD_AUDIT_KEY_MISSING_MESSAGE)
    key = key_text.encode()
    key_id = hashlib.sha256(b"tumorboard-audit-key-id:" + key).hexdigest()[:16]
    previous, expected = "0" * 64, 1
    for event in events.iterator(chunk_size=2000):
        if event.sequence != expected or event.prev_hash != previous or _legacy_hash(event) != event.hash:
            raise RuntimeError(
                f"The audit chain is broken at #{event.sequence}: run `manage.py verify_audit` on the previous "
                "release and investigate before upgrading; events are not signed over a broken chain."
            )
        payload = canonical_payload(
            created_at=event.created_at,
            actor_id=event.actor_id,
            actor_username=event.actor_username,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            patient_id=event.patient_id,
            case_id=event.case_id,
            changes=event.changes,
            request_id=event.request_id,
            ip_address=event.ip_address,
            key_id=key_id,
        )
        mac = hmac.new(key, payload, hashlib.sha256).hexdigest()
        AuditEvent.objects.filter(pk=event.pk).update(key_id=key_id, mac=mac)
        previous, expected = event.hash, expected + 1


def install_guard(apps, schema_editor):
    from cases import audit_guard

    audit_guard.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_audit_append_only_trigger")]

    operations = [
        migrations.RunPython(drop_guard, migrations.RunPython.noop),
        migrations.CreateModel(
            name="AuditDatabase",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("database_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(sign_existing_events, migrations.RunPython.noop),
        migrations.AlterModelOptions(name="auditevent", options={"base_manager_name": "objects", "ordering": ["-id"]}),
        migrations.RemoveField(model_name="auditevent", name="hash"),
        migrations.RemoveField(model_name="auditevent", name="prev_hash"),
        migrations.RemoveField(model_name="auditevent", name="sequence"),
        migrations.DeleteModel(name="AuditChainHead"),
        migrations.RunPython(install_guard, drop_guard),
    ]
