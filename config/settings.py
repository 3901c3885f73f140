"""Verifier settings: everything comes from the environment, read by the strict helpers in config.env."""

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import filesystem_broker
from config.env import (
    base_url_for_bind,
    env_bool,
    env_choice,
    env_email_url,
    env_float,
    env_header,
    env_int,
    env_int_set,
    env_list,
    env_rate,
    env_str,
    secret_key_weakness,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VERIFIER_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


# A production deployment (README "Production"): SECRET_KEY must be set and DEBUG off.
VERIFIER_PRODUCTION = env_bool("VERIFIER_PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)
if VERIFIER_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when VERIFIER_PRODUCTION is on.")


def _secret_key() -> str:
    """The configured key, or, outside production, one generated once per checkout so web, worker
    and beat agree. With DEBUG off a configured key must be a real secret, not a placeholder."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        weakness = secret_key_weakness(configured)
        if weakness and not DEBUG:
            raise ImproperlyConfigured(
                f"SECRET_KEY cannot sign anything with DEBUG off: {weakness}. Generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
            )
        return configured
    if VERIFIER_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when VERIFIER_PRODUCTION is on.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
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
# How many reverse proxies in front of the site append to X-Forwarded-For; 0 ignores the header.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
# HTTPS (README "Production"); off by default so `make run` serves plain HTTP on 127.0.0.1.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Health probes of a container or load balancer speak plain HTTP to the process itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = env_header("SECURE_PROXY_SSL_HEADER")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
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
    "axes",
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
    "verifier.provenance",
]

MIDDLEWARE = [
    # Outermost: a cached public response is served before any other middleware runs.
    "verifier.api.http_cache.PublicCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "verifier.api.middleware.RefuseNulMiddleware",
    "verifier.api.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
        # How long a writer waits for another's lock before "database is locked" (retried by tasks).
        "timeout": env_float("SQLITE_BUSY_TIMEOUT", 30.0),
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
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Django turns psycopg's prepared statements off (None) unless given a threshold, for
        # connection poolers in transaction mode (none stands before Verifier's database). Its own
        # cursors bind parameters in the client and are never prepared whatever it is; this lets
        # core.compiled_rows keep the statements it runs on every page prepared on the connection.
        options = config.get("OPTIONS")
        config["OPTIONS"] = {"prepare_threshold": 5, **(options if isinstance(options, dict) else {})}
        # Django's backend with a health check that needs no round trip while the connection is
        # idle and sound (config.postgresql.base).
        config["ENGINE"] = "config.postgresql"
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Django's Redis backend, keeping one client per connection pool (see config.cache).
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            # Every use of the cache fails open (core.cache_outage): a Redis that stopped
            # answering costs a request at most these seconds, never a hang.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-axes first: it refuses a locked-out login before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Logins (django-axes): after LOGIN_FAILURE_LIMIT failed attempts for one username, from any
# address, or from one address, for any username, logins are refused for LOGIN_COOLOFF_MINUTES
# (each failure while locked out starts it again). Staff unlock earlier in the admin (delete the
# "Access attempts" rows) or with `manage.py axes_reset` (axes_reset_username, axes_reset_ip).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "verifier.api.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked_out.html"
# verifier.admin.login registers the attempts with the admin (bounded date filters).
AXES_ENABLE_ADMIN = False

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
    "DEFAULT_PARSER_CLASSES": [
        "verifier.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Rates from API_THROTTLE_ANON and API_THROTTLE_USER below, read at each request.
    "DEFAULT_THROTTLE_CLASSES": [
        "verifier.api.throttling.AnonThrottle",
        "verifier.api.throttling.ClientThrottle",
    ],
    "EXCEPTION_HANDLER": "verifier.api.errors.exception_handler",
    # verifier.api.client_address applies the same rule to the throttles, the login lockout and logs.
    "NUM_PROXIES": TRUSTED_PROXIES,
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
# A running fetch holds two short leases (its claim on the source, its host slot), renewed every
# third of their length while it runs: a killed worker's leases lapse within seconds, and the
# beat's lease sweep (every SOURCES_FETCH_LEASE_SECONDS) queues its fetch again.
SOURCES_FETCH_LEASE_SECONDS = env_int("SOURCES_FETCH_LEASE_SECONDS", 15, minimum=3)
# Where the per-host slots are leased (sources.host_slots): "redis" (one round trip, no database
# write; the default with REDIS_URL) or "database" (HostFetchSlot rows).
SOURCES_HOST_SLOTS = env_str("SOURCES_HOST_SLOTS", "redis" if REDIS_URL else "database")
if SOURCES_HOST_SLOTS not in ("redis", "database") or (SOURCES_HOST_SLOTS == "redis" and not REDIS_URL):
    raise ImproperlyConfigured('SOURCES_HOST_SLOTS must be "database", or "redis" with REDIS_URL set')
# Snapshots whose body file is re-hashed by the daily integrity check.
SOURCES_VERIFY_SAMPLE = env_int("SOURCES_VERIFY_SAMPLE", 200, minimum=1)

if SOURCES_TIMEOUT_TOTAL < SOURCES_TIMEOUT_CONNECT:
    raise ImproperlyConfigured("SOURCES_TIMEOUT_TOTAL must not be shorter than SOURCES_TIMEOUT_CONNECT")

# Webhooks (verifier.services.webhooks): sent under the fetch limits above (the same SSRF guard), retried
# with backoff up to WEBHOOK_MAX_RETRIES times; a delivery untouched for WEBHOOK_STALE_MINUTES
# (lost message, dead worker) is queued again. The longest backoff between retries is 10 minutes.
WEBHOOK_MAX_RETRIES = env_int("WEBHOOK_MAX_RETRIES", 8)
WEBHOOK_STALE_MINUTES = env_int("WEBHOOK_STALE_MINUTES", 20, minimum=11)

# Provenance (SPEC §7): the ECDSA P-256 key that signs evidence packages and review-log
# checkpoints, a PEM file generated once (mode 0600) when missing; an optional RFC 3161 timestamp
# authority whose outage never blocks fetching or publishing.
VERIFIER_SIGNING_KEY = Path(env_str("VERIFIER_SIGNING_KEY", "") or VAR_DIR / "signing-key.pem")
VERIFIER_TSA_URL = env_str("VERIFIER_TSA_URL", "")
VERIFIER_TSA_TIMEOUT = env_float("VERIFIER_TSA_TIMEOUT", 10.0)

# The claim index a web or worker process starts from (claims.similarity): adding 100,000 vectors
# rebuilds the graph in minutes, loading a saved one takes seconds. Written by the beat task
# claims.tasks.store_claim_index_snapshot and by rebuild_claim_index; every process must see it.
CLAIM_INDEX_SNAPSHOT = Path(env_str("CLAIM_INDEX_SNAPSHOT", "") or VAR_DIR / "claim-index.usearch")
# The claim encoder's token-embedding table, copied out of its wheel on first use so that each
# process reads the rows it needs from it instead of holding all 65 MB (claims.matching.embedding).
CLAIM_ENCODER_TABLE = Path(env_str("CLAIM_ENCODER_TABLE", "") or VAR_DIR / "claim-encoder-table.npy")

# Celery: every setting in one place.
# The filesystem transport ignores the host, but kombu warns "No hostname was supplied" on every
# connection whose URL names none.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "filesystem://localhost/"
FILESYSTEM_BROKER_DIR = Path(env_str("FILESYSTEM_BROKER_DIR", str(VAR_DIR / "celery-broker")))
FETCH_TASK_TIME_LIMIT = int(SOURCES_TIMEOUT_TOTAL * 3) + 30
# Both brokers re-deliver an unacknowledged task after visibility_timeout (the filesystem one
# sooner when it sees that the claiming process on this host is gone); it must stay well above the
# longest a fetch can run, or a slow fetch would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        **filesystem_broker.folder_options(FILESYSTEM_BROKER_DIR),
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
# Messages a worker reserves per thread, the one it runs included: with one more each, a thread
# that finishes a fetch starts the next at once instead of waiting for the broker (the filesystem
# broker is polled). Acknowledged late, a dead worker's reserved messages are delivered again.
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 2, minimum=1)
# Celery's Django fix-up otherwise closes every database connection before and after each task, so
# each fetch would open a new one; config.celery applies Django's own rule (CONN_MAX_AGE, health
# checks) between tasks instead.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"sources.tasks.fetch_source": {"queue": "fetch"}}
_visibility_timeout = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
if isinstance(_visibility_timeout, int) and _visibility_timeout <= FETCH_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({_visibility_timeout} s) must exceed the fetch task's time limit "
        f"({FETCH_TASK_TIME_LIMIT} s), or a slow fetch would be handed to a second worker"
    )
if SOURCES_FETCH_LEASE_SECONDS >= FETCH_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"SOURCES_FETCH_LEASE_SECONDS ({SOURCES_FETCH_LEASE_SECONDS}) must be shorter than the fetch "
        f"task's time limit ({FETCH_TASK_TIME_LIMIT} s)"
    )
CELERY_TASK_TIME_LIMIT = FETCH_TASK_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = FETCH_TASK_TIME_LIMIT - 15
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-fetches": {
        "task": "sources.tasks.requeue_stale_fetches",
        "schedule": timedelta(minutes=5),
    },
    "requeue-expired-fetch-leases": {
        "task": "sources.tasks.requeue_expired_fetch_leases",
        "schedule": timedelta(seconds=SOURCES_FETCH_LEASE_SECONDS),
    },
    "verify-snapshot-sample": {
        "task": "sources.tasks.verify_snapshot_sample",
        "schedule": crontab(minute=17, hour=4),
    },
    "recheck-due-sources": {
        "task": "sources.tasks.recheck_due_sources",
        "schedule": crontab(minute="*/30"),
    },
    "index-claims-due": {
        "task": "claims.tasks.index_claims_due",
        "schedule": timedelta(minutes=5),
    },
    "store-claim-index-snapshot": {
        "task": "claims.tasks.store_claim_index_snapshot",
        "schedule": timedelta(minutes=15),
    },
    "requeue-stale-webhook-deliveries": {
        "task": "verifier.tasks.requeue_stale_webhook_deliveries",
        "schedule": timedelta(minutes=5),
    },
    "store-review-log-checkpoint": {
        "task": "verifier.tasks.store_review_log_checkpoint",
        "schedule": timedelta(hours=1),
    },
    "request-missing-trusted-timestamps": {
        "task": "verifier.tasks.request_missing_trusted_timestamps",
        "schedule": timedelta(minutes=15),
    },
    "requeue-stale-notification-mails": {
        "task": "verifier.tasks.requeue_stale_notification_mails",
        "schedule": timedelta(minutes=5),
    },
}
