"""Backup and restore of the database and the stored files (key images), for both engines.

PostgreSQL: pg_dump's custom format (consistent: one snapshot) and pg_restore.
SQLite: SQLite's online backup API, which copies a consistent snapshot even while the app runs.
Stored files are archived beside the database dump in one tar file.
"""

import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

DB_MEMBER = {"postgresql": "database.pgdump", "sqlite3": "database.sqlite3"}


def engine_of(db: dict) -> str:
    return db["ENGINE"].rsplit(".", 1)[-1]


def pg_env(db: dict) -> dict:
    env = dict(os.environ)
    env.update(
        PGHOST=str(db.get("HOST") or "127.0.0.1"),
        PGPORT=str(db.get("PORT") or "5432"),
        PGUSER=str(db.get("USER") or ""),
        PGDATABASE=str(db["NAME"]),
    )
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def default_backup_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.VAR_DIR) / "backups" / f"tumorboard-{stamp}.tar"


def backup(db: dict, out: Path, media_root: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    engine = engine_of(db)
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / DB_MEMBER[engine]
        if engine == "postgresql":
            subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump)], env=pg_env(db), check=True
            )
        else:
            # Through Django's own connection: it also works for the test runner's in-memory database.
            connection.ensure_connection()
            target = sqlite3.connect(dump)
            with target:
                connection.connection.backup(target)
            target.close()
        with tarfile.open(out, "w") as archive:
            archive.add(dump, arcname=dump.name)
            if media_root.is_dir():
                archive.add(media_root, arcname="media")
    return out


def restore(db: dict, archive_path: Path, media_root: Path) -> None:
    """Restore into the given (empty) database and media folder."""
    engine = engine_of(db)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive_path) as archive:
        archive.extractall(tmp, filter="data")
        dump = Path(tmp) / DB_MEMBER[engine]
        if not dump.exists():
            raise FileNotFoundError(f"{archive_path} holds no {engine} database dump")
        if engine == "postgresql":
            subprocess.run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    str(db["NAME"]),
                    str(dump),
                ],
                env=pg_env(db),
                check=True,
            )
        else:
            Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            source = sqlite3.connect(dump)
            target = sqlite3.connect(db["NAME"])
            with target:
                source.backup(target)
            source.close()
            target.close()
        media = Path(tmp) / "media"
        if media.is_dir():
            media_root.mkdir(parents=True, exist_ok=True)
            shutil.copytree(media, media_root, dirs_exist_ok=True)


def describe(archive_path: Path) -> str:
    with tarfile.open(archive_path) as archive:
        files = sum(1 for member in archive.getmembers() if member.isfile() and member.name.startswith("media/"))
    return f"{archive_path} ({archive_path.stat().st_size // 1024} KiB, {files} stored files)"
