"""The database refuses to change or remove audit events, on both engines.

PostgreSQL: a row trigger raises on UPDATE and DELETE (TRUNCATE is refused by privileges: the app's role
owns no table and holds no TRUNCATE on the audit table, see `manage.py audit_db_roles`).
SQLite: triggers raise too. They call `tumorboard_audit_guard()`, a function the app registers on each of
its connections; another client (the sqlite3 shell) lacks it, so its UPDATE or DELETE fails as well.
Only `audit_maintenance()` (the test runner's flush) lifts the SQLite guard, for this process.
Django rebuilds an SQLite table to alter it, dropping its triggers: post_migrate puts them back.
"""

import contextlib
import threading

from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.dispatch import receiver

TABLE = "cases_auditevent"

POSTGRES_CREATE = f"""
CREATE OR REPLACE FUNCTION cases_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS cases_auditevent_append_only ON {TABLE};
CREATE TRIGGER cases_auditevent_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION cases_auditevent_append_only();
"""
POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS cases_auditevent_append_only ON {TABLE};
DROP FUNCTION IF EXISTS cases_auditevent_append_only();
"""
SQLITE_CREATE = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{operation.lower()} BEFORE {operation} ON {TABLE} "
    f"WHEN tumorboard_audit_guard() BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {operation} refused'); END"
    for operation in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_no_{operation}" for operation in ("update", "delete")]

_lifted = threading.local()


@contextlib.contextmanager
def audit_maintenance():
    """Lifts the SQLite guard in this thread (for the test runner's flush between tests); nothing else."""
    _lifted.on = True
    try:
        yield
    finally:
        _lifted.on = False


def _guard() -> int:
    return 0 if getattr(_lifted, "on", False) else 1


@receiver(connection_created, dispatch_uid="tumorboard_audit_guard_function")
def _register_guard(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("tumorboard_audit_guard", 0, _guard, deterministic=False)


def install(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_CREATE)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_CREATE:
                cursor.execute(statement)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_DROP)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)


@receiver(post_migrate, dispatch_uid="tumorboard_audit_guard_triggers")
def _reinstall_after_migrate(sender, using="default", plan=None, **kwargs):
    from django.db import connections

    if getattr(sender, "name", "") != "cases":
        return
    connection = connections[using]
    if TABLE in connection.introspection.table_names() and connection.vendor == "sqlite":
        install(connection)
