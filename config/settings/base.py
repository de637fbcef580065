"""Settings shared by every environment, read from the environment through django-environ.

Every variable is documented in ``.env.example`` and the README. A ``.env`` file beside
``manage.py`` is read when present; real environment variables win over it.
"""

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    # Dependency direction: viewer <- modes <- consumption, assessments <- summaries.
    "viewer",
    "modes",
    "consumption",
    "assessments",
    "summaries",
    "legacy",
    "migration",
]

MIDDLEWARE = [
    "viewer.middleware.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# --- Relational database: catalogue, contexts, InstanceConfig, admin; and the tracking tables
# when VIEWER_STORE=sql. SQLite by default, PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep connections across requests (a new one per request costs more than the request's query).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock up front (no upgrade deadlocks), readers never block writers (WAL),
    # and a busy writer is waited for instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

MEDIA_ROOT = env.str("VIEWER_MEDIA_ROOT", default=str(BASE_DIR / ".local" / "media"))
# Seconds a summary download link stays valid.
VIEWER_DOWNLOAD_LINK_SECONDS = env.int("VIEWER_DOWNLOAD_LINK_SECONDS", default=900)
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Request bodies: the API refuses bodies over this size with a 400 naming the limit.
VIEWER_MAX_BODY_BYTES = env.int("VIEWER_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = VIEWER_MAX_BODY_BYTES
# How far in the future a client's `ts` may lie (clock skew), in seconds.
VIEWER_MAX_CLOCK_SKEW_SECONDS = env.int("VIEWER_MAX_CLOCK_SKEW_SECONDS", default=300)

# --- Storage backend for the tracking tables (composition root: viewer/storage.py):
# sql (the default database) or cassandra (Apache Cassandra + the Redis content-status map).
VIEWER_STORE = env.str("VIEWER_STORE", default="sql")

# --- Apache Cassandra (django-cassandra-engine). Configured when VIEWER_STORE=cassandra or
# CASSANDRA_HOSTS is set; the schema is created by `manage.py sync_cassandra`.
CASSANDRA_HOSTS: list[str] = env.list("CASSANDRA_HOSTS", default=[])
CASSANDRA_ENABLED = VIEWER_STORE == "cassandra" or bool(CASSANDRA_HOSTS)
CASSANDRA_WRITE_CONSISTENCY = env.str("CASSANDRA_WRITE_CONSISTENCY", default="LOCAL_QUORUM")
CASSANDRA_READ_CONSISTENCY = env.str("CASSANDRA_READ_CONSISTENCY", default="LOCAL_QUORUM")
CASSANDRA_SERIAL_CONSISTENCY = env.str("CASSANDRA_SERIAL_CONSISTENCY", default="LOCAL_SERIAL")
if CASSANDRA_ENABLED:
    # First: its migrate/flush/makemigrations commands wrap Django's.
    INSTALLED_APPS.insert(0, "django_cassandra_engine")
    INSTALLED_APPS += ["consumption.cassandra", "assessments.cassandra", "summaries.cassandra"]
    DATABASES["cassandra"] = {
        "ENGINE": "django_cassandra_engine",
        "NAME": env.str("CASSANDRA_KEYSPACE", default="viewer"),
        "HOST": ",".join(CASSANDRA_HOSTS or ["127.0.0.1"]),
        "USER": env.str("CASSANDRA_USER", default=""),
        "PASSWORD": env.str("CASSANDRA_PASSWORD", default=""),
        "OPTIONS": {
            "replication": env.json(
                "CASSANDRA_REPLICATION",
                default={"strategy_class": "SimpleStrategy", "replication_factor": 1},
            ),
            "connection": {
                "port": env.int("CASSANDRA_PORT", default=9042),
                # manage.py (and the web process) must start while Cassandra is down.
                "lazy_connect": True,
                "retry_connect": True,
                "connect_timeout": env.float("CASSANDRA_CONNECT_TIMEOUT", default=5.0),
                # v4 without compression: less CPU per statement than v5's checksummed
                # segments with LZ4, for statements of a few hundred bytes (.env.example).
                "protocol_version": env.int("CASSANDRA_PROTOCOL_VERSION", default=4),
                "compression": env.bool("CASSANDRA_COMPRESSION", default=False),
            },
            "session": {"default_timeout": env.float("CASSANDRA_REQUEST_TIMEOUT", default=5.0)},
        },
    }
    DATABASE_ROUTERS = ["viewer.routers.CassandraRouter"]

# --- Redis content-status map (read-after-write statuses) for VIEWER_STORE=cassandra.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Seconds before an unused (user, collection, context) map expires; it reloads from the store.
VIEWER_STATUS_MAP_TTL_SECONDS = env.int("VIEWER_STATUS_MAP_TTL_SECONDS", default=7 * 24 * 3600)
# Redis socket timeout: past it the request falls back to the store (logged).
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)

# --- Instance mode defaults, used only when a database has no InstanceConfig row yet.
VIEWER_MODE = env.str("VIEWER_MODE", default="strict")
VIEWER_COPY_SCOPE = env.str("VIEWER_COPY_SCOPE", default="content")
VIEWER_CARRY_RULES = env.json("VIEWER_CARRY_RULES", default=None)
# Seconds a worker process keeps the InstanceConfig it read before reading it again.
VIEWER_CONFIG_CACHE_SECONDS = env.float("VIEWER_CONFIG_CACHE_SECONDS", default=5.0)
# Seconds a process keeps a collection it read (recomputes and reads need the catalogue's
# collection every time); a catalogue write in the same process forgets it at once.
VIEWER_CATALOGUE_CACHE_SECONDS = env.float("VIEWER_CATALOGUE_CACHE_SECONDS", default=5.0)
# Mode name -> policy class (dotted path). Entries here replace or extend the built-in registry.
VIEWER_MODE_POLICIES: dict[str, str] = env.dict("VIEWER_MODE_POLICIES", default={})

# --- Celery. No broker configured: tasks run eagerly, in-process, after the request's commit.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Acked after it ran, one message reserved at a time: a worker that dies mid-task loses nothing.
# Its pool process killed: the message is requeued at once (Celery would ack it otherwise). The
# whole worker killed: Redis hands the message out again after the visibility timeout, which
# must exceed the longest countdown a task is scheduled with (webhook retries back off up to
# 600 s), or a delayed task held by a live worker would be handed to a second one.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "summaries-sweep": {"task": "summaries.sweep", "schedule": 60.0},
}
# collection.completed events: JSON list of URLs, each POSTed once per completed enrolment,
# signed (X-Viewer-Signature: sha256=HMAC of the body with VIEWER_WEBHOOK_SECRET).
VIEWER_COMPLETION_WEBHOOKS: list[str] = env.json("VIEWER_COMPLETION_WEBHOOKS", default=[])
VIEWER_WEBHOOK_SECRET = env.str("VIEWER_WEBHOOK_SECRET", default="")

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["viewer.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["viewer.auth.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["viewer.permissions.ViewerAccess"],
    "DEFAULT_THROTTLE_CLASSES": [
        "viewer.throttling.UserThrottle",
        "viewer.throttling.AnonThrottle",
    ],
    "UNAUTHENTICATED_USER": None,
    # ?format= is the summary download's own parameter, not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    # No OPTIONS self-description outside the envelope: OPTIONS is a 405 like any unknown method.
    "DEFAULT_METADATA_CLASS": None,
    "EXCEPTION_HANDLER": "viewer.exceptions.envelope_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Viewer API",
    "DESCRIPTION": (
        "Progress-and-score tracking for learning platforms. Every request body is "
        '`{"id"?, "ver"?, "ts"?, "params"?: {"msgid"?}, "request": {...}}`; every response, '
        "success or error, is the Sunbird envelope. Times are epoch milliseconds (UTC)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ErrorCodeEnum": "viewer.errors.ERROR_CODE_CHOICES",
        "ErrorResponseCodeEnum": "viewer.errors.RESPONSE_CODE_CHOICES",
        "OkResponseCodeEnum": ["OK"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "viewer.schema.add_error_catalogue",
    ],
}

# --- Authentication (README "Authentication"). Off is refused by the production settings.
VIEWER_AUTH = env.bool("VIEWER_AUTH", default=True)
# HS256 shared secret (at least 32 characters), or RS256/ES256 public keys: PEM text or the path
# of a PEM or JWKS file.
VIEWER_JWT_SECRET = env.str("VIEWER_JWT_SECRET", default="")
VIEWER_JWT_PUBLIC_KEYS = env.str("VIEWER_JWT_PUBLIC_KEYS", default="")
VIEWER_JWT_ISSUER = env.str("VIEWER_JWT_ISSUER", default="")
VIEWER_JWT_AUDIENCE = env.str("VIEWER_JWT_AUDIENCE", default="")
VIEWER_JWT_USER_CLAIM = env.str("VIEWER_JWT_USER_CLAIM", default="sub")
VIEWER_JWT_ROLES_CLAIM = env.str("VIEWER_JWT_ROLES_CLAIM", default="roles")
VIEWER_JWT_LEEWAY_SECONDS = env.int("VIEWER_JWT_LEEWAY_SECONDS", default=30)
# Also accept the token in Sunbird gateways' x-authenticated-user-token header.
VIEWER_JWT_TRUST_GATEWAY_HEADER = env.bool("VIEWER_JWT_TRUST_GATEWAY_HEADER", default=False)
# Where local settings keep the signing secret they create (none elsewhere).
VIEWER_JWT_LOCAL_KEY_FILE = ""
# DRF rate strings such as 600/min; unset means no throttling.
VIEWER_THROTTLE_USER = env.str("VIEWER_THROTTLE_USER", default="")
VIEWER_THROTTLE_ANON = env.str("VIEWER_THROTTLE_ANON", default="")
CACHES = {"default": env.cache("VIEWER_CACHE_URL", default="locmemcache://")}
# Browser origins allowed to call the API (CORS), comma-separated.
CORS_ALLOWED_ORIGINS: list[str] = env.list("VIEWER_CORS_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-request-id",
    "x-authenticated-user-token",
)
CORS_EXPOSE_HEADERS = ["X-Request-ID"]

# --- Metrics (README "Operations"): GET /metrics needs a service or admin token unless public;
# a Celery worker serves its own on VIEWER_METRICS_WORKER_PORT (0: none) at ..._ADDR.
VIEWER_METRICS_PUBLIC = env.bool("VIEWER_METRICS_PUBLIC", default=False)
VIEWER_METRICS_WORKER_PORT = env.int("VIEWER_METRICS_WORKER_PORT", default=0)
VIEWER_METRICS_WORKER_ADDR = env.str("VIEWER_METRICS_WORKER_ADDR", default="127.0.0.1")

# --- Logs: one line per request and per task (viewer/logs.py), json or text.
VIEWER_LOG_FORMAT = env.str("VIEWER_LOG_FORMAT", default="text")
LOG_FORMATS = ("json", "text")
if VIEWER_LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"VIEWER_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "viewer.logs.RequestContextFilter"}},
    "formatters": {
        "text": {"()": "viewer.logs.TextFormatter"},
        "json": {"()": "viewer.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": VIEWER_LOG_FORMAT,
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("VIEWER_LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
