"""The audit trail against someone with full write access to the database, but not to the key or the
checkpoint file (docs/security.md). Each test performs one attack of issue 11 and shows it detected."""

import hashlib
import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from cases import audit_guard
from cases import models as m
from cases.services.audit import audit_record, key_id_of
from cases.services.audit_seal import audit_seal, audit_verify, read_checkpoints, sink_path, window

TABLE = "cases_auditevent"


def tamper(*statements):
    """Change the table below every guard, as someone with database access could: a superuser silences
    PostgreSQL's triggers; on SQLite the attacker drops the triggers (and puts them back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            audit_guard.uninstall(connection)
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
        else:
            audit_guard.install(connection)


def ids():
    return list(m.AuditEvent.objects.order_by("id").values_list("id", flat=True))


def record(case, coordinator, n):
    for index in range(n):
        audit_record(actor=coordinator, action="case.view", obj=case, changes={"n": index})


def renumber_after(gap_id):
    """Close the gap a deleted event left: every later event moves down by one (one by one, ascending)."""
    return [
        (f"UPDATE {TABLE} SET id = %s WHERE id = %s", [event_id - 1, event_id])
        for event_id in ids()
        if event_id > gap_id
    ]


def unkeyed_rehash(event_id):
    """What the old chain allowed: recompute the event's hash with a function anyone can run (no key)."""
    return (
        f"UPDATE {TABLE} SET mac = %s WHERE id = %s",
        [hashlib.sha256(str(event_id).encode()).hexdigest(), event_id],
    )


def verify_problems():
    report = audit_verify(seal=False)
    return report, report.problems


@pytest.fixture
def sealed(case, coordinator):
    record(case, coordinator, 30)
    result = audit_seal()
    assert result.sealed == 30
    return ids()


def test_every_event_is_signed_with_the_configured_key_and_names_it(case, coordinator, settings):
    event = audit_record(actor=coordinator, action="case.view", obj=case)
    assert event.key_id == key_id_of(settings.TUMORBOARD_AUDIT_KEY.encode())
    assert len(event.mac) == 64
    # The key never reaches the database.
    dumped = json.dumps(list(m.AuditEvent.objects.values()), default=str)
    assert settings.TUMORBOARD_AUDIT_KEY not in dumped


def test_writing_an_event_is_one_insert_and_takes_no_shared_lock(case, coordinator, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        audit_record(actor=coordinator, action="case.view", obj=case)
    assert captured.captured_queries[0]["sql"].startswith("INSERT INTO")
    assert "FOR UPDATE" not in captured.captured_queries[0]["sql"]


def test_an_intact_sealed_trail_verifies_and_the_command_seals_first(sealed, case, coordinator):
    record(case, coordinator, 5)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "35 events verified, sealed through" in out.getvalue()
    assert [c.data["count"] for c in read_checkpoints(sink_path())] == [30, 5]
    out = io.StringIO()
    call_command("seal_audit", stdout=out)
    assert "Nothing to seal" in out.getvalue()


def test_attack_edit_an_event_names_it(sealed):
    tamper((f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["case.print", sealed[7]]))
    report, problems = verify_problems()
    assert problems == [f"event #{sealed[7]} was changed after it was written (its MAC fails)"]
    with pytest.raises(CommandError, match=f"First divergence: event #{sealed[7]} was changed"):
        call_command("verify_audit", stdout=io.StringIO())


def test_attack_edit_and_rehash_without_the_key_fails(sealed):
    tamper((f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["case.print", sealed[7]]), unkeyed_rehash(sealed[7]))
    _, problems = verify_problems()
    assert problems[0] == f"event #{sealed[7]} was changed after it was written (its MAC fails)"


def test_attack_delete_a_middle_event_renumber_the_rest_and_rehash(sealed):
    """The issue's first attack: delete, renumber the later events, recompute what can be recomputed."""
    middle = sealed[14]
    tamper(
        (f"DELETE FROM {TABLE} WHERE id = %s", [middle]),
        *renumber_after(middle),
    )
    assert len(ids()) == 29 and ids() == sealed[:29]
    report, problems = verify_problems()
    assert not report.ok
    assert problems == [
        f"the trail ends at #{sealed[-2]} but a checkpoint sealed it through #{sealed[-1]} (30 events after #0, "
        "29 remain): events were deleted or removed from the end, or the table was restored to an earlier state"
    ]


def test_attack_cut_off_the_last_twenty_events(sealed):
    tamper((f"DELETE FROM {TABLE} WHERE id > %s", [sealed[9]]))
    report, problems = verify_problems()
    assert problems == [
        f"the trail ends at #{sealed[9]} but a checkpoint sealed it through #{sealed[-1]} (30 events after #0, "
        "10 remain): events were deleted or removed from the end, or the table was restored to an earlier state"
    ]


def test_attack_truncate_everything(sealed):
    tamper((f"DELETE FROM {TABLE}", []))
    report, problems = verify_problems()
    assert "the trail ends at #0" in problems[0]


def test_attack_reorder_two_events(sealed):
    first, second = m.AuditEvent.objects.filter(id__in=[sealed[3], sealed[4]]).order_by("id")
    columns = ["created_at", "changes", "mac", "request_id"]
    swap = []
    for target, source in ((first, second), (second, first)):
        values = m.AuditEvent.objects.filter(pk=source.pk).values(*columns).get()
        swap.append(
            (
                f"UPDATE {TABLE} SET created_at = %s, changes = %s, mac = %s, request_id = %s WHERE id = %s",
                [values["created_at"], json.dumps(values["changes"]), values["mac"], values["request_id"], target.pk],
            )
        )
    tamper(*swap)
    report, problems = verify_problems()
    assert problems == [f"{window(read_checkpoint(0))}: the sealed events were reordered or replaced"]


def read_checkpoint(index):
    return list(read_checkpoints(sink_path()))[index].data


def test_attack_insert_a_forged_event_into_the_sealed_range(sealed, coordinator):
    genuine = m.AuditEvent.objects.filter(pk=sealed[5]).values().get()
    # Copy a genuine event (valid MAC) into a gap: a replayed event.
    tamper((f"DELETE FROM {TABLE} WHERE id = %s", [sealed[6]]))
    row = {**genuine, "id": sealed[6], "changes": json.dumps(genuine["changes"])}
    names = ", ".join(row)
    tamper((f"INSERT INTO {TABLE} ({names}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values())))
    _, problems = verify_problems()
    assert problems == [f"{window(read_checkpoint(0))}: the sealed events were reordered or replaced"]


def test_attack_restore_the_audit_table_to_an_earlier_state_of_itself(sealed, case, coordinator):
    """Copy the table now, let the trail grow and be sealed, then put the old copy back in place."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {TABLE} ORDER BY id")
        names = [column[0] for column in cursor.description]
        earlier = cursor.fetchall()
    record(case, coordinator, 12)
    audit_seal()
    insert = f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    changes = names.index("changes")

    def as_row(values):
        values = list(values)
        if not isinstance(values[changes], str):
            values[changes] = json.dumps(values[changes])
        return values

    tamper((f"DELETE FROM {TABLE}", []), *[(insert, as_row(row)) for row in earlier])
    assert ids() == sealed
    report, problems = verify_problems()
    assert problems[0].startswith(f"the trail ends at #{sealed[-1]} but a checkpoint sealed it through #")
    assert "restored to an earlier state" in problems[0]


def test_attack_restore_then_keep_writing_is_detected_too(sealed, case, coordinator):
    """After the restore the app writes new events under the old numbers: the seal still disagrees."""
    record(case, coordinator, 5)
    audit_seal()
    tamper((f"DELETE FROM {TABLE} WHERE id > %s", [sealed[-1]]))
    record(case, coordinator, 5)
    report = audit_verify(seal=True)
    assert not report.ok
    assert "reordered or replaced" in report.problem or "missing" in report.problem or "ends at" in report.problem


def test_an_event_signed_with_an_unknown_key_is_named(sealed):
    tamper((f"UPDATE {TABLE} SET key_id = %s WHERE id = %s", ["0123456789abcdef", sealed[2]]))
    _, problems = verify_problems()
    assert problems[0] == f"event #{sealed[2]} is signed with a key not configured (0123456789abcdef)"


def test_keys_rotate_old_events_verify_under_the_old_key(sealed, case, coordinator, settings):
    old = settings.TUMORBOARD_AUDIT_KEY
    settings.TUMORBOARD_AUDIT_KEY = "a-new-key-for-this-quarter"
    settings.TUMORBOARD_AUDIT_OLD_KEYS = [old]
    event = audit_record(actor=coordinator, action="case.view", obj=case)
    assert event.key_id == key_id_of(b"a-new-key-for-this-quarter") != key_id_of(old.encode())
    assert audit_verify().ok
    settings.TUMORBOARD_AUDIT_OLD_KEYS = []
    report = audit_verify(seal=False)
    retired = [problem for problem in report.problems if "signed with a key not configured" in problem]
    assert len(retired) == 31  # 30 events and the checkpoint that sealed them name the retired key


def test_a_checkpoint_edited_or_removed_in_the_file_is_named(sealed, case, coordinator):
    record(case, coordinator, 3)
    audit_seal()
    lines = sink_path().read_text().splitlines()
    first = json.loads(lines[0])
    first["count"] = 29
    sink_path().write_text(json.dumps(first) + "\n" + lines[1] + "\n")
    _, problems = verify_problems()
    assert "checkpoint line 1 was changed after it was written (its MAC fails)" in problems
    sink_path().write_text(lines[1] + "\n")
    _, problems = verify_problems()
    assert "checkpoint line 1 does not follow the one before it (a checkpoint was removed)" in problems


def test_a_checkpoint_file_of_another_database_is_reported_as_such_not_as_tampering(sealed, tmp_path):
    other = json.loads(sink_path().read_text().splitlines()[0])
    mine = str(m.AuditDatabase.objects.get().database_id)
    tamper(("UPDATE cases_auditdatabase SET database_id = %s", ["00000000-0000-4000-8000-000000000001"]))
    report, problems = verify_problems()
    assert problems[0].startswith(f"the checkpoint file {sink_path()} belongs to database {mine}, not to this one")
    assert other["database"] == mine
    with pytest.raises(CommandError, match="belongs to database"):
        call_command("seal_audit", stdout=io.StringIO())


def test_rewriting_the_database_id_to_hide_a_truncation_still_fails_verification(sealed):
    """The id in the database is as writable as the events: rewritten, verify_audit cannot match the checkpoints to
    the trail, so it names no deletion, but it fails, naming the mismatch; sealing stops until someone looks."""
    mine = str(m.AuditDatabase.objects.get().database_id)
    tamper(
        (f"DELETE FROM {TABLE} WHERE id > %s", [sealed[9]]),
        ("UPDATE cases_auditdatabase SET database_id = %s", ["00000000-0000-4000-8000-000000000002"]),
    )
    report, problems = verify_problems()
    assert problems == [
        f"the checkpoint file {sink_path()} belongs to database {mine}, not to this one "
        "(00000000-0000-4000-8000-000000000002): its checkpoints say nothing about this trail"
    ]
    with pytest.raises(CommandError):
        call_command("verify_audit", "--no-seal", stdout=io.StringIO())
    with pytest.raises(CommandError, match="belongs to database"):
        call_command("seal_audit", stdout=io.StringIO())


def test_without_a_key_no_event_is_written(settings, case, coordinator):
    settings.TUMORBOARD_AUDIT_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="TUMORBOARD_AUDIT_KEY is not set"):
        audit_record(actor=coordinator, action="case.view", obj=case)
    assert not m.AuditEvent.objects.exists()


def test_the_checkpoint_file_and_its_folder_are_private(sealed):
    assert sink_path().stat().st_mode & 0o777 == 0o600
    assert sink_path().parent.stat().st_mode & 0o777 == 0o700


def test_every_manager_refuses_changes_the_base_manager_included(sealed):
    for manager in (m.AuditEvent.objects, m.AuditEvent._base_manager, m.AuditEvent._default_manager):
        with pytest.raises(m.FrozenRecordError):
            manager.filter(pk=sealed[0]).update(action="x")
        with pytest.raises(m.FrozenRecordError):
            manager.filter(pk=sealed[0]).delete()
        with pytest.raises(m.FrozenRecordError):
            manager.all()._raw_delete(connection.alias)
    assert audit_verify(seal=False).ok


def test_the_database_refuses_update_and_delete_even_in_raw_sql(sealed):
    """PostgreSQL's trigger, and SQLite's (which another client lacking the app's guard function fails too)."""
    for sql in (f"UPDATE {TABLE} SET action = 'x' WHERE id = %s", f"DELETE FROM {TABLE} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [sealed[0]])
    assert audit_verify(seal=False).ok


SQLITE_PROBE = """
import json, sqlite3
from django.db import DatabaseError, connection, transaction
from cases.models import AuditEvent
from cases.services.audit import audit_record

event = audit_record(actor=None, action="auth.login_failed", object_type="user", object_id="probe")
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases_auditevent'")
    out = {"triggers": sorted(row[0] for row in cursor.fetchall()), "app": {}, "other": {}}
other = sqlite3.connect(connection.settings_dict["NAME"])
for sql in ("UPDATE cases_auditevent SET action = 'x' WHERE id = ?", "DELETE FROM cases_auditevent WHERE id = ?"):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), [event.pk])
        out["app"][sql.split()[0]] = "allowed"
    except DatabaseError as error:
        out["app"][sql.split()[0]] = str(error)
    try:
        with other:
            other.execute(sql, [event.pk])
        out["other"][sql.split()[0]] = "allowed"
    except sqlite3.Error as error:
        out["other"][sql.split()[0]] = str(error)
out["left"] = list(AuditEvent.objects.filter(pk=event.pk).values_list("action", flat=True))
print(json.dumps(out))
"""


def test_sqlite_triggers_refuse_the_app_and_another_client_whatever_database_the_suite_runs_on(tmp_path):
    """Runs on every engine (CI runs the suite on PostgreSQL): an SQLite database of its own, built by the app's
    migrations in a process of its own, must refuse UPDATE and DELETE of an audit event from the app's connection
    and from a client without the app's guard function (the sqlite3 shell)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TUMORBOARD_", "DATABASE_URL"))}
    env = {
        **clean,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'audit.sqlite3'}",
        "TUMORBOARD_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "sqlite-trigger-test-only",
        "TUMORBOARD_AUDIT_KEY": "sqlite-trigger-test-only",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput")
    out = json.loads(manage("shell", "-c", SQLITE_PROBE).strip().splitlines()[-1])
    assert out["triggers"] == [f"{TABLE}_no_delete", f"{TABLE}_no_update"]
    for operation in ("UPDATE", "DELETE"):
        assert out["app"][operation] == f"{TABLE} is append-only: {operation} refused"
        assert out["other"][operation] == "no such function: tumorboard_audit_guard"
    assert out["left"] == ["auth.login_failed"]


def test_a_deleted_middle_event_without_renumbering_is_named_with_its_window(sealed, case, coordinator):
    record(case, coordinator, 2)
    audit_seal()
    tamper((f"DELETE FROM {TABLE} WHERE id = %s", [sealed[14]]))
    _, problems = verify_problems()
    assert problems == [f"{window(read_checkpoint(0))}: 1 of the 30 sealed events are missing (deleted)"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_the_app_role_cannot_update_delete_or_truncate_the_trail(postgres_only, case, coordinator):
    import uuid

    import psycopg2

    role = f"tb_app_{uuid.uuid4().hex[:8]}"
    audit_record(actor=coordinator, action="case.view", obj=case)
    out = io.StringIO()
    call_command("audit_db_roles", role, stdout=out)
    assert "never change, delete or truncate" in out.getvalue()
    settings_dict = connection.settings_dict
    app = psycopg2.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=role,
        dbname=settings_dict["NAME"],
    )
    try:
        app.autocommit = True
        with app.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            assert cursor.fetchone()[0] == 1
            cursor.execute(
                f"INSERT INTO {TABLE} (created_at, actor_username, action, object_type, object_id, changes, "
                "request_id, key_id, mac) VALUES (now(), '', 'case.view', 'case', '1', '{}', '', 'k', 'm')"
            )
            cursor.execute("UPDATE cases_case SET key_labs = key_labs WHERE id = %s", [case.pk])
            for statement in (
                f"UPDATE {TABLE} SET action = 'x'",
                f"DELETE FROM {TABLE}",
                f"TRUNCATE {TABLE}",
                "UPDATE cases_auditdatabase SET database_id = gen_random_uuid()",
                f"DROP TRIGGER cases_auditevent_append_only ON {TABLE}",
            ):
                with pytest.raises(psycopg2.Error, match="permission denied|must be owner"):
                    cursor.execute(statement)
    finally:
        app.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')
