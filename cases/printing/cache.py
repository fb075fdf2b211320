"""Rendered PDFs, named by the fingerprint of everything that went into them.

A fingerprint changes with any change of content, template or option, so an entry is never
stale: it is only ever replaced by a new name. On disk (the default), old entries are removed when the
directory holds more than PRINT_CACHE_MAX_FILES, oldest first; the files hold patient data, so the
directory lives beside the database (var/ by default) and is private to the app's user. In an object store
(TUMORBOARD_STORAGE=s3: the `print_cache` storage) each entry is one object, written whole by one PUT, and
the bucket's lifecycle rule expires old ones (docs/operations.md).
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages


def _object_store():
    return storages["print_cache"] if "print_cache" in settings.STORAGES else None


def _directory() -> Path:
    path = Path(settings.PRINT_CACHE_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def cache_get(key: str) -> bytes | None:
    store = _object_store()
    if store is not None:
        try:
            with store.open(f"{key}.pdf", "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
    path = _directory() / f"{key}.pdf"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    os.utime(path)  # recently used entries are culled last
    return data


def cache_put(key: str, data: bytes) -> None:
    store = _object_store()
    if store is not None:
        store.save(f"{key}.pdf", ContentFile(data))
        return
    directory = _directory()
    # Written under a temporary name and renamed: a reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, directory / f"{key}.pdf")
    _cull(directory)


def _cull(directory: Path) -> None:
    entries = list(directory.glob("*.pdf"))
    excess = len(entries) - settings.PRINT_CACHE_MAX_FILES
    if excess <= 0:
        return
    entries.sort(key=lambda path: path.stat().st_mtime)
    for path in entries[:excess]:
        path.unlink(missing_ok=True)
