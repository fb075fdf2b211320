"""Health for load balancers and orchestrators: /healthz (the process answers) and /readyz (it can serve).

Neither needs a sign-in and neither says anything of patients: each check answers "ok" or the name of
the exception, never its text (which could carry a host name or a path).
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key, value = f"readyz-{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("cache does not return what was stored")
    cache.delete(key)


def _writable(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".readyz-{uuid.uuid4().hex}"
    probe.write_bytes(b"ok")
    probe.unlink()


def _stored(alias: str, folder) -> None:
    """The folder every instance shares, or the object store when files live there (TUMORBOARD_STORAGE=s3)."""
    backend = settings.STORAGES.get(alias, {}).get("BACKEND", "")
    if not backend or backend.endswith("FileSystemStorage"):
        _writable(Path(folder))
        return
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    store = storages[alias]
    name = store.save(f"readyz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    store.delete(name)


def _broker() -> None:
    from ...jobs import broker

    broker.ping()


CHECKS = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
    "media": lambda: _stored("default", settings.MEDIA_ROOT),
    "print_cache": lambda: _stored("print_cache", settings.PRINT_CACHE_DIR),
}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 — a failed check is reported, never raised
            results[name] = f"failed: {type(error).__name__}"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)
