from django.conf import settings
from django.core.checks import Error, register


@register(deploy=True)
def secret_key_is_set(app_configs, **kwargs):
    """`manage.py check --deploy` names a missing secret key (serving refuses earlier: tumorboard/startup.py)."""
    if settings.TUMORBOARD_SECRET_KEY_MISSING:
        return [Error(settings.SECRET_KEY_MISSING, id="tumorboard.E001")]
    return []
