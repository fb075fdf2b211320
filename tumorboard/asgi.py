import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tumorboard.settings")
application = get_asgi_application()

from tumorboard.startup import refuse_to_start_without_a_secret_key  # noqa: E402 - needs settings loaded

refuse_to_start_without_a_secret_key()
