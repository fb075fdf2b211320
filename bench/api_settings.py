"""Settings for `make bench-api`: the app's own settings, plus the bare views beside the API."""

from tumorboard.settings import *  # noqa: F403
from tumorboard.settings import ALLOWED_HOSTS, REST_FRAMEWORK

ROOT_URLCONF = "bench.api_urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# Throttles stay on (their cost is part of the API's), at rates a load generator never reaches.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000000/min", "user": "100000000/min", "login": "100000000/min"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
# Loopback over plain HTTP (production redirects to HTTPS); every other middleware stays, for both sides.
SECURE_SSL_REDIRECT = False
