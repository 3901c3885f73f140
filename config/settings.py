"""Verifier settings: everything comes from the environment, read by the strict helpers in config.env."""

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    base_url_for_bind,
    env_bool,
    env_choice,
    env_email_url,
    env_float,
    env_int,
    env_int_set,
    env_list,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VERIFIER_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The configured key, or one generated once per checkout so web, worker and beat agree."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
# Public links (claim pages, ClaimReview, mails, seed_demo's sign-in line) point where `make run`
# serves (WEB_BIND) unless the deployment says where readers reach it.
PUBLIC_BASE_URL = (
    env_str("PUBLIC_BASE_URL", "")
    or base_url_for_bind(env_str("WEB_BIND", "127.0.0.1:8000"))
    or "http://127.0.0.1:8000"
).rstrip("/")
_PUBLIC_HOST = urlsplit(PUBLIC_BASE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", list(dict.fromkeys(["127.0.0.1", "localhost", _PUBLIC_HOST])))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
VERIFIER_ORG_NAME = env_str("VERIFIER_ORG_NAME", "Verifier")
VERIFIER_ORG_URL = env_str("VERIFIER_ORG_URL", PUBLIC_BASE_URL)
# Who the public fact-check pages name: "names" credits the fact-checker and the reviewer by their
# full names (a user without one as the organisation's fact-checker or reviewer, never by login
# name); "none" names no one and says only that a second person reviewed the verdict.
VERIFIER_PUBLIC_BYLINES = env_choice("VERIFIER_PUBLIC_BYLINES", "names", ("names", "none"))

INSTALLED_APPS = [
    # Before the admin, so that its admin/base_site.html (the unread notifications on every admin
    # page) overrides the admin's own.
    "verifier",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "claims",
    "sources",
]

MIDDLEWARE = [
    # Outermost: a cached public response is served before any other middleware runs.
    "verifier.api.http_cache.PublicCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def _sqlite_options() -> dict:
    return {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
        # instead of one failing with "database is locked" halfway through.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


def _database() -> dict:
    url = env_str("DATABASE_URL", "")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "verifier.sqlite3",
            "OPTIONS": _sqlite_options(),
            # A file, not memory, so a real worker process can share the test database.
            "TEST": {"NAME": str(VAR_DIR / "test-verifier.sqlite3")},
        }
    try:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = _sqlite_options()
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Django's Redis backend, keeping one client per connection pool (see config.cache).
    CACHES = {"default": {"BACKEND": "config.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request until collectstatic fills it
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    # Snapshot bodies; any Django storage backend can stand here (S3 via django-storages, ...).
    "default": {
        "BACKEND": env_str("SNAPSHOT_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
    },
    # Without a manifest, so pages render the same before and after collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Rates from API_THROTTLE_ANON and API_THROTTLE_USER below, read at each request.
    "DEFAULT_THROTTLE_CLASSES": [
        "verifier.api.throttling.AnonThrottle",
        "verifier.api.throttling.ClientThrottle",
    ],
    "EXCEPTION_HANDLER": "verifier.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Requests per client to the API: anonymous clients by address, token holders (staff or API clients
# made in the admin) by account. "none" lifts a limit.
API_THROTTLE_ANON = env_rate("API_THROTTLE_ANON", "120/minute")
API_THROTTLE_USER = env_rate("API_THROTTLE_USER", "1200/minute")
# How long a rendered public response may stay in the cache; a publish, correction or flag
# supersedes it at once (verifier.api.http_cache). 0 renders every response.
API_CACHE_SECONDS = env_int("API_CACHE_SECONDS", 600)

TOKEN_AUTH_HELP = (
    "Reads need no credentials. Writes, and drafts for staff, need a token sent as "
    "`Authorization: Token <key>`: the word `Token`, one space, then the key (in Swagger UI's "
    "Authorize dialog, paste `Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b`, not the key alone). "
    "Staff get a key in the admin (Auth Token > Tokens) or with "
    "`python manage.py drf_create_token USERNAME`."
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Verifier API",
    "DESCRIPTION": (
        "Verified claims as JSON and schema.org ClaimReview; the fact-checking workflow.\n\n"
        + TOKEN_AUTH_HELP
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Replaces drf-spectacular's description of TokenAuthentication, which does not say how to
    # write the header or where a key comes from.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "tokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": TOKEN_AUTH_HELP,
            }
        }
    },
    # Claims and sources both have a "status" field with different choices.
    "ENUM_NAME_OVERRIDES": {
        "ClaimStatusEnum": "claims.models.Claim.Status",
        "SourceStatusEnum": "sources.models.Source.Status",
    },
}

# E-mail for notifications (verifier.services.notifications): EMAIL_URL as dj-email-url reads it, e.g.
# smtp://user:pass@host:587/?tls=True; by default the console backend prints each mail in the
# worker's output.
_EMAIL = env_email_url("EMAIL_URL", "console://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _EMAIL["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _EMAIL["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _EMAIL["EMAIL_USE_SSL"]
# A mail server that stops answering must not hold a worker thread: the task retries later.
EMAIL_TIMEOUT = _EMAIL["EMAIL_TIMEOUT"] or 10
DEFAULT_FROM_EMAIL = (
    env_str("DEFAULT_FROM_EMAIL", "")
    or _EMAIL.get("DEFAULT_FROM_EMAIL")
    or f"{VERIFIER_ORG_NAME} <verifier@localhost>"
)
# Retries of a notification mail the server refused for now (4xx) or could not take; a mail
# untouched for EMAIL_STALE_MINUTES (lost message, dead worker) is queued again by beat.
EMAIL_MAX_RETRIES = env_int("EMAIL_MAX_RETRIES", 8)
EMAIL_STALE_MINUTES = env_int("EMAIL_STALE_MINUTES", 20, minimum=11)

# Fetching sources (SPEC §4). Ports other than 80/443 exist only for local tests and benchmarks.
SOURCES_ALLOW_PRIVATE_NETWORKS = env_bool("SOURCES_ALLOW_PRIVATE_NETWORKS", False)
SOURCES_ALLOWED_PORTS = env_int_set("SOURCES_ALLOWED_PORTS", {80, 443})
SOURCES_MAX_BYTES = env_int("SOURCES_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
SOURCES_TIMEOUT_CONNECT = env_float("SOURCES_TIMEOUT_CONNECT", 5.0)
SOURCES_TIMEOUT_READ = env_float("SOURCES_TIMEOUT_READ", 10.0)
SOURCES_TIMEOUT_TOTAL = env_float("SOURCES_TIMEOUT_TOTAL", 30.0)
SOURCES_MAX_REDIRECTS = env_int("SOURCES_MAX_REDIRECTS", 5)
SOURCES_RECHECK_DAYS = env_int("SOURCES_RECHECK_DAYS", 7, minimum=1)
SOURCES_FETCH_MAX_RETRIES = env_int("SOURCES_FETCH_MAX_RETRIES", 4)
# Politeness toward cited sites: how many fetches of one host may run at once, across all workers.
SOURCES_MAX_FETCHES_PER_HOST = env_int("SOURCES_MAX_FETCHES_PER_HOST", 2, minimum=1)
# A fetch still pending or running after this long is presumed lost (broker outage, killed
# worker) and is queued again by the beat task.
SOURCES_STALE_FETCH_MINUTES = env_int("SOURCES_STALE_FETCH_MINUTES", 10, minimum=1)

if SOURCES_TIMEOUT_TOTAL < SOURCES_TIMEOUT_CONNECT:
    raise ImproperlyConfigured("SOURCES_TIMEOUT_TOTAL must not be shorter than SOURCES_TIMEOUT_CONNECT")

# Webhooks (verifier.services.webhooks): sent under the fetch limits above (the same SSRF guard), retried
# with backoff up to WEBHOOK_MAX_RETRIES times; a delivery untouched for WEBHOOK_STALE_MINUTES
# (lost message, dead worker) is queued again. The longest backoff between retries is 10 minutes.
WEBHOOK_MAX_RETRIES = env_int("WEBHOOK_MAX_RETRIES", 8)
WEBHOOK_STALE_MINUTES = env_int("WEBHOOK_STALE_MINUTES", 20, minimum=11)

# Celery: every setting in one place.
# The filesystem transport ignores the host, but kombu warns "No hostname was supplied" on every
# connection whose URL names none.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "filesystem://localhost/"
FILESYSTEM_BROKER_DIR = Path(env_str("FILESYSTEM_BROKER_DIR", str(VAR_DIR / "celery-broker")))
FETCH_TASK_TIME_LIMIT = int(SOURCES_TIMEOUT_TOTAL * 3) + 30
# Redis re-delivers an unacknowledged task after visibility_timeout; it must stay well above the
# longest a fetch can run, or a slow fetch would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("queue", "processed", "control"):
        (FILESYSTEM_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(FILESYSTEM_BROKER_DIR / "queue"),
        "data_folder_out": str(FILESYSTEM_BROKER_DIR / "queue"),
        "processed_folder": str(FILESYSTEM_BROKER_DIR / "processed"),
        # Exchange bindings; kombu's default is "control" in the current directory.
        "control_folder": str(FILESYSTEM_BROKER_DIR / "control"),
        "store_processed": False,
        # kombu sleeps this long whenever a worker's prefetch is full or the queue is empty; its
        # default of 1 s would leave finished fetch threads idle for most of each second.
        "polling_interval": 0.05,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Saving evidence must not hang on a dead broker: give up publishing quickly and let the stale-fetch
# sweep queue the fetch once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up otherwise closes every database connection before and after each task, so
# each fetch would open a new one; config.celery applies Django's own rule (CONN_MAX_AGE, health
# checks) between tasks instead.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"sources.tasks.fetch_source": {"queue": "fetch"}}
CELERY_TASK_TIME_LIMIT = FETCH_TASK_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = FETCH_TASK_TIME_LIMIT - 15
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-fetches": {
        "task": "sources.tasks.requeue_stale_fetches",
        "schedule": timedelta(minutes=5),
    },
    "recheck-due-sources": {
        "task": "sources.tasks.recheck_due_sources",
        "schedule": crontab(minute="*/30"),
    },
    "requeue-stale-webhook-deliveries": {
        "task": "verifier.tasks.requeue_stale_webhook_deliveries",
        "schedule": timedelta(minutes=5),
    },
    "requeue-stale-notification-mails": {
        "task": "verifier.tasks.requeue_stale_notification_mails",
        "schedule": timedelta(minutes=5),
    },
}
