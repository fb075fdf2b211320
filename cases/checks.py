from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register


@register(deploy=True)
def secret_key_is_set(app_configs, **kwargs):
    """`manage.py check --deploy` names a missing secret key (serving refuses earlier: tumorboard/startup.py)."""
    if settings.TUMORBOARD_SECRET_KEY_MISSING:
        return [Error(settings.SECRET_KEY_MISSING, id="tumorboard.E001")]
    return []


@register(deploy=True)
def audit_key_is_set(app_configs, **kwargs):
    """`manage.py check --deploy` names a missing audit key (serving refuses too: tumorboard/startup.py)."""
    if settings.TUMORBOARD_AUDIT_KEY_MISSING:
        return [Error(settings.TUMORBOARD_AUDIT_KEY_MISSING_MESSAGE, id="tumorboard.E002")]
    return []


@register(deploy=True)
def portal_url_is_set(app_configs, **kwargs):
    """E-mails and calendar invitations link to the portal: without its address the links are bare paths
    (/meetings/1/) that no mail or calendar program can open."""
    url = settings.PORTAL_URL
    if not url:
        message = "TUMORBOARD_PORTAL_URL is not set: links in e-mails and calendar invitations would be bare paths."
        return [Warning(message, hint="Set it to the portal's address, e.g. https://tumorboard.hospital.example.",
                        id="tumorboard.W001")]  # fmt: skip
    if not url.startswith(("https://", "http://")):
        return [
            Error(f"TUMORBOARD_PORTAL_URL ({url}) is not an address: write it with https://.", id="tumorboard.E004")
        ]
    return []


def _database_folder(db: dict) -> Path | None:
    """The SQLite file's folder; None for a server database or an in-memory one (the test runner's)."""
    name = str(db.get("NAME") or "")
    if not db["ENGINE"].endswith("sqlite3") or name in ("", ":memory:") or "mode=memory" in name:
        return None
    return Path(name).resolve().parent


@register()
def audit_checkpoints_live_apart(app_configs, **kwargs):
    """The checkpoint file must live outside the database's folder (and every folder in it), the stored files and
    the print cache: a copy or a restore of those would carry the seals along with the events they are meant to
    check. By default the SQLite file has a folder of its own (var/db/) and the checkpoints another
    (var/audit-checkpoints/)."""
    sink = Path(settings.TUMORBOARD_AUDIT_CHECKPOINTS).resolve()
    places = [
        ("the database's folder", _database_folder(settings.DATABASES["default"])),
        ("the stored files (DJANGO_MEDIA_ROOT)", Path(settings.MEDIA_ROOT).resolve()),
        ("the print cache (TUMORBOARD_PRINT_CACHE_DIR)", Path(settings.PRINT_CACHE_DIR).resolve()),
    ]
    return [
        Error(
            f"TUMORBOARD_AUDIT_CHECKPOINTS ({sink}) lies inside {place} ({folder}): keep the checkpoints in a "
            "folder of their own, outside it.",
            id="tumorboard.E003",
        )
        for place, folder in places
        if folder is not None and folder in sink.parents
    ]
