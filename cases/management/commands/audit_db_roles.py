"""PostgreSQL: give the application a database role that can add audit events but never change them.

Run it as the role that owns the tables (the one `migrate` runs as). It creates the application role if
needed and grants it what the app uses on every table and sequence, except UPDATE, DELETE and TRUNCATE on
the audit tables; future tables created by the owner get the same grants. Then point the running app's
DATABASE_URL at the application role (docs/operations.md); `migrate` keeps using the owner.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

AUDIT_TABLES = ("cases_auditevent", "cases_auditdatabase")


class Command(BaseCommand):
    help = "PostgreSQL: create/refresh the application's role without UPDATE, DELETE or TRUNCATE on the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the application connects as (not the tables' owner)")
        parser.add_argument("--password", default="", help="set this password on the role (LOGIN)")

    def handle(self, *args, role, password, **options):
        if connection.vendor != "postgresql":
            raise CommandError("audit_db_roles is for PostgreSQL; SQLite has no roles (its triggers still refuse).")
        from psycopg2 import sql

        with connection.cursor() as cursor:
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [AUDIT_TABLES[0]])
            owner = cursor.fetchone()
            if owner is None:
                raise CommandError("Run `manage.py migrate` first: there is no audit table yet.")
            if owner[0] == role:
                raise CommandError(f"{role} owns the tables: the application needs a role of its own.")
            name = sql.Identifier(role)
            with transaction.atomic():
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
                if password:
                    cursor.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD %s").format(name), [password])
                cursor.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(connection.settings_dict["NAME"]), name
                    )
                )
                statements = [
                    "GRANT USAGE ON SCHEMA public TO {}",
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
                    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}",
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}",
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}",
                ]
                for statement in statements:
                    cursor.execute(sql.SQL(statement).format(name))
                for table in AUDIT_TABLES:
                    cursor.execute(
                        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}").format(
                            sql.Identifier(table), name
                        )
                    )
        self.stdout.write(
            self.style.SUCCESS(
                f"{role}: may read and add audit events, never change, delete or truncate them "
                f"(owner {owner[0]}). Point the app's DATABASE_URL at {role}; run migrate as {owner[0]}."
            )
        )
