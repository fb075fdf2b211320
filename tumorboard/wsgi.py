import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tumorboard.settings")
application = get_wsgi_application()

from tumorboard.startup import refuse_to_start_without_a_secret_key  # noqa: E402 - needs settings loaded

refuse_to_start_without_a_secret_key()
