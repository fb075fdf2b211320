from django.conf import settings
from django.core.checks import Error, register


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


@register()
def audit_checkpoints_live_apart(app_configs, **kwargs):
    """The checkpoint file must not sit in the database's directory or the stored files: a copy of those
    (or a restore) would carry the seals along with the events they are meant to check."""
    from pathlib import Path

    sink = Path(settings.TUMORBOARD_AUDIT_CHECKPOINTS).resolve()
    media = Path(settings.MEDIA_ROOT).resolve()
    db = settings.DATABASES["default"]
    db_dir = Path(db["NAME"]).resolve().parent if db["ENGINE"].endswith("sqlite3") else None
    if sink.parent == db_dir or media == sink.parent or media in sink.parents:
        return [
            Error(
                f"TUMORBOARD_AUDIT_CHECKPOINTS ({sink}) is beside the database file or among the stored files: "
                "keep the checkpoints apart from both.",
                id="tumorboard.E003",
            )
        ]
    return []
