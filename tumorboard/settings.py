"""Tumor Board settings: one module, driven by environment variables only.

See the configuration table in README.md for every variable.
"""

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TUMORBOARD_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
SECRET_KEY_MISSING = (
    "DJANGO_SECRET_KEY is not set: export a long random value, or DJANGO_DEBUG=1 for local development."
)
# Without a key and with debug off, the settings still load (so tooling such as makemigrations
# works) but the application refuses to start: tumorboard/wsgi.py and asgi.py (which runserver
# and gunicorn load) raise, and `manage.py check --deploy` fails (cases/checks.py).
TUMORBOARD_SECRET_KEY_MISSING = not SECRET_KEY and not DEBUG
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-used-when-DJANGO_DEBUG-is-on"

# The audit trail's key (cases/services/audit.py): HMAC-SHA-256 over every event. It never enters the
# database; keep it where the secret key is kept. Old keys stay listed (comma-separated) while events
# or checkpoints signed with them are verified. With debug on and no key, one is derived for development.
TUMORBOARD_AUDIT_KEY = os.environ.get("TUMORBOARD_AUDIT_KEY", "")
TUMORBOARD_AUDIT_OLD_KEYS = env_list("TUMORBOARD_AUDIT_OLD_KEYS", "")
TUMORBOARD_AUDIT_KEY_MISSING = not TUMORBOARD_AUDIT_KEY and not DEBUG
TUMORBOARD_AUDIT_KEY_MISSING_MESSAGE = (
    "TUMORBOARD_AUDIT_KEY is not set: export a long random value (kept outside the database), "
    "or DJANGO_DEBUG=1 for local development."
)
if not TUMORBOARD_AUDIT_KEY and DEBUG:
    TUMORBOARD_AUDIT_KEY = "development-" + hashlib.sha256(f"audit:{SECRET_KEY}".encode()).hexdigest()
# Checkpoints sealing the trail (`manage.py seal_audit`): an append-only JSON-lines file outside the database
# and never in the database's own directory (a copy or restore of that directory must not carry it along).
TUMORBOARD_AUDIT_CHECKPOINTS = Path(
    os.environ.get("TUMORBOARD_AUDIT_CHECKPOINTS", VAR_DIR / "audit-checkpoints" / "checkpoints.jsonl")
)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "rest_framework",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "cases",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cases.middleware.SessionMiddleware",  # Django's, but the token endpoint leaves a session untouched
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cases.middleware.RequestContextMiddleware",
    "cases.middleware.AccessLogMiddleware",  # paths without their query strings (no searched-for identifier)
    # Before any view or CSRF check reads the body: refuses text that is not UTF-8, oversized bodies…
    "cases.middleware.RequestInputMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside CSP, so the product's 404 page (shown even with DEBUG on) gets its headers too.
    "cases.middleware.ProductNotFoundMiddleware",
    "cases.middleware.SessionLifetimeMiddleware",
    "cases.middleware.NoStoreMiddleware",
    "cases.middleware.AccessDeniedAuditMiddleware",
    "cases.middleware.PageReadAuditMiddleware",
    # A sign-in refused for its address's failures says so (429), whatever answer the login view gave.
    "cases.middleware.AddressLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tumorboard.urls"
WSGI_APPLICATION = "tumorboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Forms render with the project's templates too (templates/includes/form_fields.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# SQLite file in a folder of its own under var/ (the audit checkpoints must live outside the database's folder:
# cases/checks.py) unless DATABASE_URL points elsewhere (postgres://user@host:port/name).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db' / 'tumorboard.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing
    # half-way with "database is locked"; WAL lets readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTHENTICATION_BACKENDS = [
    # Refuses logins during a lockout (django-axes); the model backend then checks the password.
    "cases.auth.LockoutBackend",
    "cases.auth.ModelBackend",  # Django's, loading the credential epoch with the user
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# A session ends after this long without a request: each request saves the session and so
# pushes its expiry forward (a shared ward computer left signed in locks itself).
SESSION_IDLE_MINUTES = int(os.environ.get("TUMORBOARD_SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}


def s3_storages(*, bucket: str, endpoint_url: str = "", region: str = "") -> dict:
    """Key images (media/) and the print cache (print-cache/) as objects in one S3-compatible bucket, through
    django-storages. Credentials come the way boto3 finds them (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or
    the machine's role), never from this file. Objects are private: the app serves them itself."""

    def store(location: str, overwrite: bool) -> dict:
        options = {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "location": location,
            "default_acl": None,
            "file_overwrite": overwrite,  # a print-cache entry is named by its content; a key image never is
        }
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}

    return {"default": store("media", False), "print_cache": store("print-cache", True)}


# Stored files: a folder by default (DJANGO_MEDIA_ROOT and TUMORBOARD_PRINT_CACHE_DIR, on a disk every instance
# shares, e.g. NFS), or an S3-compatible object store (TUMORBOARD_STORAGE=s3).
STORAGE = os.environ.get("TUMORBOARD_STORAGE", "filesystem")
if STORAGE == "s3":
    if not os.environ.get("TUMORBOARD_S3_BUCKET"):
        raise ImproperlyConfigured("TUMORBOARD_STORAGE=s3 needs TUMORBOARD_S3_BUCKET, the bucket to store files in.")
    STORAGES |= s3_storages(
        bucket=os.environ["TUMORBOARD_S3_BUCKET"],
        endpoint_url=os.environ.get("TUMORBOARD_S3_ENDPOINT_URL", ""),
        region=os.environ.get("TUMORBOARD_S3_REGION", ""),
    )
elif STORAGE != "filesystem":
    raise ImproperlyConfigured(f"TUMORBOARD_STORAGE is 'filesystem' or 's3', not {STORAGE!r}.")

# Throttles, rate limits and other counters live in the cache. One process (`make run`) keeps it in memory;
# several app servers must share one: set REDIS_URL (redis://host:6379/0) to count across all of them.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "tb"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Clinical free text (history, findings, opinions, decisions…): at most this many characters a field.
TUMORBOARD_TEXT_MAX_CHARS = int(os.environ.get("TUMORBOARD_TEXT_MAX_CHARS", "20000"))

# Key images: accepted only when Pillow can read them and they fit under this size.
KEY_IMAGE_MAX_BYTES = int(os.environ.get("TUMORBOARD_KEY_IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))
# ... and at most this many pixels (a 13000 × 13000 PNG of 641 KB would take gigabytes to print), this many a study.
KEY_IMAGE_MAX_PIXELS = int(os.environ.get("TUMORBOARD_KEY_IMAGE_MAX_PIXELS", str(30_000_000)))
KEY_IMAGE_MAX_PER_STUDY = int(os.environ.get("TUMORBOARD_KEY_IMAGE_MAX_PER_STUDY", "20"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Stored files (key images) are readable by the app's own user only (cases/files.py does the SQLite file).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Notifications (cases/notify/): SMTP when DJANGO_EMAIL_HOST is set, else printed on the console.
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL", False)  # implicit TLS, usually port 465
EMAIL_TIMEOUT = int(os.environ.get("DJANGO_EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "tumorboard@localhost")
# Members whose input is missing are reminded this long before the meeting (manage.py notify_daily).
INPUT_REMINDER_HOURS = int(os.environ.get("TUMORBOARD_INPUT_REMINDER_HOURS", "24"))
# The portal's address, for the links in e-mails and calendars (e.g. https://tumorboard.hospital.example).
PORTAL_URL = os.environ.get("TUMORBOARD_PORTAL_URL", "")

# Calendar events are named meeting-<id>@<this>: give the portal's host name so UIDs are unique to the hospital.
TUMORBOARD_CALENDAR_DOMAIN = os.environ.get("TUMORBOARD_CALENDAR_DOMAIN", "") or (ALLOWED_HOSTS or ["localhost"])[0]

# The API (cases/api/): session authentication (CSRF enforced) for the portal, expiring hashed tokens
# for integrations; JSON only; every error through one handler; per-client throttles.
REST_FRAMEWORK = {
    # Token first: an anonymous request is then told 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "cases.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "cases.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "cases.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "cases.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("TUMORBOARD_API_ANON_RATE", "60/min"),
        "user": os.environ.get("TUMORBOARD_API_USER_RATE", "1200/min"),
        "login": os.environ.get("TUMORBOARD_API_LOGIN_RATE", "10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# API tokens: stored as SHA-512 digests, expire, revoked by POST /api/v1/auth/logout/.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=int(os.environ.get("TUMORBOARD_API_TOKEN_HOURS", "10"))),
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tumor Board API",
    "DESCRIPTION": (
        "Cases from imaging through pathology, revised pathology and consensus; meetings and decisions. "
        "Authenticate with `Authorization: Token <token>` from `POST /api/v1/auth/token/`. Edits (PATCH) need "
        "`If-Match` with the ETag of the version you read; refusals name their `code`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cases.api.schema.refuse_unknown_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "cases.models.Stage",
        "ReportStatusEnum": "cases.models.ReportStatus",
        "MeetingStatusEnum": "cases.models.MeetingStatus",
        "DecisionStatusEnum": "cases.models.DecisionStatus",
        "FollowUpStatusEnum": "cases.models.FollowUpStatus",
        "AgendaOutcomeEnum": "cases.models.Outcome",
        "TeachingStatusEnum": "cases.models.TeachingStatus",
        "OutcomeChoiceEnum": [("discussed", "Discussed"), ("deferred", "Deferred")],
        "DeviationCodeEnum": "cases.models.DeviationCode",
        "StagingKindEnum": "cases.models.StagingKind",
        "FollowUpKindEnum": "cases.models.FollowUpKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "cases.logs.JsonFormatter"},
    },
    # TUMORBOARD_LOG_FORMAT=json: one JSON object a line, with the request id (cases/logs.py).
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("TUMORBOARD_LOG_FORMAT") == "json" else "plain",
        }
    },
    "filters": {"without_query_string": {"()": "cases.logs.WithoutQueryString"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # runserver's request lines carry query strings: the app's own access log (tumorboard.access) replaces them,
    # and the refusals and errors it still prints lose theirs.
    "loggers": {"django.server": {"level": "WARNING", "filters": ["without_query_string"]}},
}
TUMORBOARD_TRUST_X_FORWARDED_FOR = env_bool("TUMORBOARD_TRUST_X_FORWARDED_FOR", False)
# How many proxies in front of the app append to X-Forwarded-For (HAProxy's forwardfor, nginx's
# $proxy_add_x_forwarded_for): the client is that many entries from the right; what is left of it, anyone can write.
TUMORBOARD_PROXY_HOPS = int(os.environ.get("TUMORBOARD_PROXY_HOPS", "1"))

# Security ------------------------------------------------------------------------------------
# With DJANGO_DEBUG off, `manage.py check --deploy --fail-level WARNING` is clean.

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer probes health over plain HTTP on the instance's own address.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    # The proxy terminates TLS and says so in this header; only trust it behind such a proxy.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Whatever the activity, a session ends this long after sign-in (the idle limit is above).
SESSION_ABSOLUTE_HOURS = int(os.environ.get("TUMORBOARD_SESSION_ABSOLUTE_HOURS", "12"))

# Repeated failed logins lock the username from that address for a cool-off, never for good.
AXES_FAILURE_LIMIT = int(os.environ.get("TUMORBOARD_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("TUMORBOARD_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# And per address, whatever the usernames (portal, admin and API token alike; cases/auth.py): after 10 failures
# in 15 minutes each attempt waits 0.5 s, doubling up to 5 s; after 30 the address is refused. Audited.
TUMORBOARD_LOGIN_ADDRESS_WINDOW = timedelta(
    minutes=int(os.environ.get("TUMORBOARD_LOGIN_ADDRESS_WINDOW_MINUTES", "15"))
)
TUMORBOARD_LOGIN_ADDRESS_LIMIT = int(os.environ.get("TUMORBOARD_LOGIN_ADDRESS_LIMIT", "30"))
TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER = int(os.environ.get("TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER", "10"))
TUMORBOARD_LOGIN_ADDRESS_DELAY_SECONDS = 0.5
TUMORBOARD_LOGIN_ADDRESS_MAX_DELAY = 5.0
AXES_CLIENT_IP_CALLABLE = "cases.middleware.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# 403 and 404 answers on these paths are patient-object probes, and are audited.
TUMORBOARD_AUDITED_PATHS = (
    r"^/(patients|cases|meetings|key-images|pathology|decisions|follow-ups|agenda-items|imaging|opinions|teaching"
    r"|emergency-access"
    r"|api/v1/(patients|cases|imaging-studies|pathology-reports|opinions|meetings|decisions|follow-ups|teaching-sets))/"
)

# Paper (cases/printing): rendered PDFs are kept by fingerprint so a reprint is immediate.
PRINT_CACHE_DIR = Path(os.environ.get("TUMORBOARD_PRINT_CACHE_DIR", VAR_DIR / "print-cache"))
PRINT_CACHE_MAX_FILES = int(os.environ.get("TUMORBOARD_PRINT_CACHE_MAX_FILES", "2000"))
# Processes that render packet sections in parallel: 0 = one per core (at most 4).
PRINT_WORKERS = int(os.environ.get("TUMORBOARD_PRINT_WORKERS", "0"))
# Every PDF renders in a worker process with these limits per document; past one the user is told why and
# the worker is replaced (the web or job process is never at risk). Address space counts mapped fonts too.
PRINT_TIME_LIMIT_SECONDS = float(os.environ.get("TUMORBOARD_PRINT_TIME_LIMIT_SECONDS", "60"))
PRINT_MEMORY_LIMIT_MB = int(os.environ.get("TUMORBOARD_PRINT_MEMORY_LIMIT_MB", "1536"))
# seal_audit waits this long for transactions still writing audit events before it gives up.
TUMORBOARD_AUDIT_SEAL_WAIT_SECONDS = int(os.environ.get("TUMORBOARD_AUDIT_SEAL_WAIT_SECONDS", "60"))

# Background jobs (cases/jobs/): run by `manage.py jobs_worker` (`make worker`; `make run` starts one).
# Without a broker workers poll the job table; TUMORBOARD_JOBS_BROKER=redis://host:6379/1 wakes them at once.
JOBS_BROKER = os.environ.get("TUMORBOARD_JOBS_BROKER", "")
JOBS_POLL_SECONDS = float(os.environ.get("TUMORBOARD_JOBS_POLL_SECONDS", "1" if not JOBS_BROKER else "10"))
# A worker renews its lease while it reports progress; a lease that runs out means the worker died.
JOBS_LEASE_SECONDS = int(os.environ.get("TUMORBOARD_JOBS_LEASE_SECONDS", "120"))
JOBS_RETRY_BASE_SECONDS = float(os.environ.get("TUMORBOARD_JOBS_RETRY_BASE_SECONDS", "5"))
JOBS_RETRY_MAX_SECONDS = float(os.environ.get("TUMORBOARD_JOBS_RETRY_MAX_SECONDS", "600"))
# Each day at this local time ("HH:MM") a worker queues the round of input reminders, due notices and digests
# (one job a day, however many workers); empty turns it off, for a site that runs `manage.py notify_daily` itself.
TUMORBOARD_DAILY_AT = os.environ.get("TUMORBOARD_DAILY_AT", "07:00").strip()
if TUMORBOARD_DAILY_AT and not re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d", TUMORBOARD_DAILY_AT):
    raise ImproperlyConfigured(f"TUMORBOARD_DAILY_AT is a time of day such as 07:00, not {TUMORBOARD_DAILY_AT!r}.")
# Run each job in the process that enqueues it (the test suite's default; never in production).
JOBS_INLINE = False
# How long an API download waits for its job before answering 202 with a Location to poll.
PRINT_JOB_WAIT_SECONDS = float(os.environ.get("TUMORBOARD_PRINT_JOB_WAIT_SECONDS", "10"))

# Identity (cases/identity/, docs/identity.md) ----------------------------------------------------
# Single sign-on through the hospital's OpenID Connect provider: on when an issuer is set.
OIDC_ISSUER = os.environ.get("TUMORBOARD_OIDC_ISSUER", "").rstrip("/")
OIDC_CLIENT_ID = os.environ.get("TUMORBOARD_OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("TUMORBOARD_OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = os.environ.get("TUMORBOARD_OIDC_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = os.environ.get("TUMORBOARD_OIDC_PROVIDER_NAME", "hospital account")
# The callback address registered at the provider; empty: derived from the request.
OIDC_REDIRECT_URI = os.environ.get("TUMORBOARD_OIDC_REDIRECT_URI", "")
# Claims read from the ID token: the username for new accounts, e-mail, names, and group memberships.
OIDC_CLAIM_USERNAME = os.environ.get("TUMORBOARD_OIDC_CLAIM_USERNAME", "preferred_username")
OIDC_CLAIM_EMAIL = os.environ.get("TUMORBOARD_OIDC_CLAIM_EMAIL", "email")
OIDC_CLAIM_GROUPS = os.environ.get("TUMORBOARD_OIDC_CLAIM_GROUPS", "groups")
# group=Board name:role[:specialty];… — memberships of those boards follow the groups claim at each sign-in.
OIDC_GROUP_BOARDS = os.environ.get("TUMORBOARD_OIDC_GROUP_BOARDS", "")
# Just-in-time accounts: off, so an administrator pre-creates or links every account.
OIDC_CREATE_USERS = env_bool("TUMORBOARD_OIDC_CREATE_USERS", False)
# Signing out also ends the provider session (RP-initiated logout) when it offers end_session_endpoint.
OIDC_PROVIDER_LOGOUT = env_bool("TUMORBOARD_OIDC_PROVIDER_LOGOUT", True)
# The provider's own second factor counts (its ID token's `amr` names one) instead of Tumor Board's.
OIDC_TRUST_PROVIDER_MFA = env_bool("TUMORBOARD_OIDC_TRUST_PROVIDER_MFA", False)
OIDC_STATE_MAX_AGE = int(os.environ.get("TUMORBOARD_OIDC_STATE_MAX_AGE", "600"))
OIDC_TIMEOUT = float(os.environ.get("TUMORBOARD_OIDC_TIMEOUT", "10"))
OIDC_LEEWAY = int(os.environ.get("TUMORBOARD_OIDC_LEEWAY", "60"))
# Local passwords: off for everyone (single sign-on only), or per account in the admin.
PASSWORD_LOGIN_ENABLED = env_bool("TUMORBOARD_PASSWORD_LOGIN", True)
# Who needs a second factor: "staff" (staff and administrators), "all", or "off"; boards can require it too.
MFA_REQUIRED = os.environ.get("TUMORBOARD_MFA_REQUIRED", "staff")
MFA_ISSUER_NAME = os.environ.get("TUMORBOARD_MFA_ISSUER_NAME", "Tumor Board")
MFA_RECOVERY_CODES = 10
# Break-the-glass: how long an emergency read of another board's patient lasts.
BREAK_GLASS_MINUTES = int(os.environ.get("TUMORBOARD_BREAK_GLASS_MINUTES", "60"))

AUTHENTICATION_BACKENDS.insert(0, "cases.identity.backends.PasswordPolicyBackend")
MIDDLEWARE.insert(MIDDLEWARE.index("cases.middleware.NoStoreMiddleware"), "cases.identity.middleware.MfaMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1, "cases.identity.middleware.ProviderSignOutCspMiddleware"
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("cases.identity.context.identity")
# WebAuthn (security keys, passkeys): the relying party is this site's host unless set (behind a proxy).
WEBAUTHN_RP_ID = os.environ.get("TUMORBOARD_WEBAUTHN_RP_ID", "")
WEBAUTHN_ORIGIN = os.environ.get("TUMORBOARD_WEBAUTHN_ORIGIN", "")
