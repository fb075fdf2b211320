"""Stored files are the app's alone: key images 0600 in 0700 folders (settings), and the SQLite database
with its journal files 0600, whatever the umask of whoever created them."""

import os
from pathlib import Path

from django.db.backends.signals import connection_created
from django.dispatch import receiver


@receiver(connection_created, dispatch_uid="tumorboard_private_sqlite_file")
def _private_sqlite_file(sender, connection, **kwargs):
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (Path(name), Path(name + "-wal"), Path(name + "-shm")):
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            pass  # not ours to change (a read-only copy): the check below names it
