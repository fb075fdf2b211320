from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_to_start_without_a_secret_key() -> None:
    """Called by the WSGI and ASGI entry points: the application never serves without its keys."""
    if settings.TUMORBOARD_SECRET_KEY_MISSING:
        raise ImproperlyConfigured(settings.SECRET_KEY_MISSING)
    if settings.TUMORBOARD_AUDIT_KEY_MISSING:
        raise ImproperlyConfigured(settings.TUMORBOARD_AUDIT_KEY_MISSING_MESSAGE)
