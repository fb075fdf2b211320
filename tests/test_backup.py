"""The restore drill: back up the demo, restore it into a fresh database, compare every table, verify the trail."""

import io
import sqlite3
import time
import uuid

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cases.management import backups
from cases.models import AuditEvent
from cases.services.audit import audit_verify_chain

pytestmark = pytest.mark.django_db(transaction=True)


def rows_by_table(cursor, tables):
    snapshot = {}
    for table in tables:
        cursor.execute(f'SELECT * FROM "{table}"')
        snapshot[table] = sorted(map(repr, cursor.fetchall()))
    return snapshot


@pytest.fixture
def fresh_database():
    """A new, empty database of the same engine as the test database; dropped afterwards."""
    db = dict(connection.settings_dict)
    if connection.vendor == "postgresql":
        name = f"tb_restore_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(**backups_pg_kwargs(db, "postgres"))
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        yield {**db, "NAME": name}
        admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
    else:
        yield {**db, "NAME": ":memory:"}


def backups_pg_kwargs(db, name):
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": name,
    }


def test_a_backup_restores_into_a_fresh_database_with_every_row_and_an_intact_trail(settings, tmp_path, fresh_database):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    archive = tmp_path / "drill.tar"
    out = io.StringIO()
    call_command("backup", "--out", str(archive), stdout=out)
    assert "3 stored files" in out.getvalue()
    tables = connection.introspection.table_names()
    if connection.vendor == "postgresql":
        source = psycopg2.connect(**backups_pg_kwargs(connection.settings_dict, connection.settings_dict["NAME"]))
        original = rows_by_table(source.cursor(), tables)
        source.close()
    else:
        original = rows_by_table(connection.connection.cursor(), tables)
    assert len(original["cases_auditevent"]) == AuditEvent.objects.count() > 50

    restored_media = tmp_path / "restored-media"
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        backups.restore(fresh_database, archive, restored_media)
        target = psycopg2.connect(**backups_pg_kwargs(fresh_database, fresh_database["NAME"]))
    else:
        restored_file = tmp_path / "restored.sqlite3"
        backups.restore({**fresh_database, "NAME": str(restored_file)}, archive, restored_media)
        # The same type conversions as Django's own SQLite connection.
        target = sqlite3.connect(restored_file, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    elapsed = time.perf_counter() - started
    print(f"restore drill: {len(tables)} tables, {sum(map(len, original.values()))} rows, {elapsed:.2f} s")
    try:
        restored = rows_by_table(target.cursor(), tables)
    finally:
        target.close()
    assert restored == original
    assert len(list(restored_media.glob("key-images/*.png"))) == 3
    assert audit_verify_chain().ok


def test_restore_refuses_a_database_that_is_not_empty(tmp_path, settings):
    archive = tmp_path / "a.tar"
    call_command("backup", "--out", str(archive), stdout=io.StringIO())
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))
    with pytest.raises(CommandError, match="No backup archive"):
        call_command("restore", str(tmp_path / "missing.tar"))
