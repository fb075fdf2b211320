"""What the benches share: their PostgreSQL database, made if it does not exist yet."""

from urllib.parse import urlparse


def ensure_database(database_url: str) -> None:
    """Create the database that `database_url` names, if missing (connecting to `postgres` to do it)."""
    import psycopg2

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin = psycopg2.connect(
        dbname="postgres", user=url.username, password=url.password, host=url.hostname, port=url.port or 5432
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
