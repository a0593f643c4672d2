"""Settings for KP Tracker, read from the environment.

The defaults are the embedded set-up that `make run` uses (SQLite, Celery tasks run eagerly,
DEBUG on, a throw-away secret key). Production sets DJANGO_ENV=production, which refuses to start
without SECRET_KEY and turns the secure defaults on.
"""

import datetime
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    import os

    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"The environment variable {name} must be set.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def _env_number(name: str, default, parse, what: str):
    raw = env_str(name, str(default))
    try:
        return parse(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {what}, not {raw!r}.") from exc


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def _redis_database(url: str, number: int) -> str:
    """The same Redis server as `url`, database `number` (redis://host:port/0 -> .../1)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, test or production.")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
else:
    SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-never-used-in-production")

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "sources",
    "participants",
    "meetings",
    "proposals",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it answers a locked-out login with its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Staff login: django-axes counts failed logins and locks out after AXES_FAILURE_LIMIT of them
# for AXES_COOLOFF_MINUTES; a successful login resets the count. AXES_LOCKOUT_BY says what is
# locked: comma-separated alternatives, "+" joining parameters that lock together (the default
# locks a user name at one IP address, so a stranger cannot lock an editor out from elsewhere).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [
    alternative.split("+") if "+" in alternative else alternative
    for alternative in env_list("AXES_LOCKOUT_BY", "username+ip_address")
]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# Behind AXES_NUM_PROXIES proxies that append to X-Forwarded-For (production sits behind one),
# the client's address is the one the nearest of them appended, not the proxy's own.
AXES_NUM_PROXIES = env_int("AXES_NUM_PROXIES", 1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "kp_tracker.admin_locking.client_ip"
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT must be at least 1.")

# Admin import and export (django-import-export): every import runs in one transaction, so a
# file with a bad row imports nothing.
IMPORT_EXPORT_USE_TRANSACTIONS = True

ROOT_URLCONF = "kp_tracker.urls"

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

WSGI_APPLICATION = "kp_tracker.wsgi.application"

# The positions' covering indexes (INCLUDE columns) speed PostgreSQL up; SQLite, the embedded
# default, builds them without those columns, which changes nothing but speed, and says so at
# every migrate.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# SQLite is the embedded default; production and the test suite set DATABASE_URL to PostgreSQL.
# Persistent connections more than double throughput on PostgreSQL (see ../shared/RECIPES.md).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The public pages' stylesheet (static/css/site.css); nothing is loaded from another host.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Celery: eager in the embedded default so `make run` needs no broker; a real Redis elsewhere.
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A task whose worker dies is delivered again; tasks are written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without it Celery closes the database connection after every task, and each task pays for a
# new PostgreSQL connection (5 ms here, more than a webhook's send); with it Celery closes them
# every 2N tasks, and kp_tracker/celery.py applies CONN_MAX_AGE and health checks per task.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100)
CELERY_TIMEZONE = TIME_ZONE

# The cache: rendered public pages (sources/pages.py) and the API's throttle counts. Shared by
# every process and machine through Redis wherever there is one, in its own database so that
# clearing the cache never touches Celery's queues; the embedded default keeps it in memory.
# A Redis outage must not stop edits or pages: django-redis then answers every cache call as a
# miss (IGNORE_EXCEPTIONS, logged) and pages are rendered from the database, after at most the
# socket timeouts below.
CACHE_URL = env_str("CACHE_URL", _redis_database(REDIS_URL, 1) if REDIS_URL else "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "kp",
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env_float("CACHE_CONNECT_TIMEOUT", 0.5),
                "SOCKET_TIMEOUT": env_float("CACHE_TIMEOUT", 0.5),
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a rendered public page is kept at all, current or not (sources/pages.py).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 24 * 60 * 60)
# How long, at most, a page found out of date after a write is served as it was while a Celery
# worker renders it again; past that it is rendered in the request.
PAGE_STALE_SECONDS = env_int("PAGE_STALE_SECONDS", 30)
# Celery beat (the `beat` service in docker-compose.yml): the notifications' periodic jobs.
CELERY_BEAT_SCHEDULE = {
    # Re-enqueues what was not delivered: events whose enqueue failed, lost task messages,
    # deliveries orphaned by a dead worker, retries whose delayed message was lost.
    "notifications-sweep": {
        "task": "notifications.sweep",
        "schedule": float(env_int("NOTIFICATIONS_SWEEP_INTERVAL", 60)),
    },
    "notifications-upcoming-meetings": {
        "task": "notifications.announce_upcoming_meetings",
        "schedule": crontab(hour=6, minute=0),
    },
    "notifications-daily-digest": {
        "task": "notifications.send_daily_digests",
        "schedule": crontab(hour=7, minute=0),
    },
}

# E-mail: printed to the console unless EMAIL_BACKEND says otherwise (SMTP in production:
# django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST and friends).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
# Without a timeout a stalled SMTP server would hold a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "KP Tracker <notifications@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the site is served, for links in e-mails (confirm, unsubscribe) and webhook payloads.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# The REST API (kp_tracker/api_common.py holds the shared behaviour these name).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "kp_tracker.api_views.KPAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reading is public; writing needs a Secretariat editor's token.
    "DEFAULT_PERMISSION_CLASSES": ["kp_tracker.api_common.EditorWriteOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "kp_tracker.api_common.CSVRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kp_tracker.api_common.StrictContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": [
        "kp_tracker.api_common.QuickFilterBackend",
        "kp_tracker.api_common.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "kp_tracker.api_common.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "kp_tracker.api_common.api_exception_handler",
    # Anonymous clients are throttled per IP address (the client's, behind API_NUM_PROXIES
    # proxies that append to X-Forwarded-For; production sits behind one).
    "DEFAULT_THROTTLE_CLASSES": ["kp_tracker.api_common.AnonReadThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": env_str("API_ANON_RATE", "120/minute") or None},
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 1 if PRODUCTION else 0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KP Tracker API",
    "DESCRIPTION": (
        "Agendas, decisions, positions and vetoes of the Kimberley Process. Reading is public "
        "(anonymous clients are throttled per IP address); writing needs the token of a "
        "Secretariat editor. Every list is also served as CSV (`?format=csv` or "
        "`Accept: text/csv`); every GET carries an ETag and honours If-None-Match. Errors have "
        'one shape: `{"error": {"status", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kp_tracker.api_views.add_links",
        "kp_tracker.api_views.add_path_examples",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DatePrecisionEnum": "sources.models.DatePrecision",
        "OutcomeEnum": "proposals.models.Decision.Outcome",
        "ParticipantStatusEnum": "participants.models.ParticipantStatus.Status",
        "AgendaEntryStatusEnum": "meetings.models.AgendaEntry.Status",
        "ProposalStatusEnum": "proposals.models.Proposal.Status",
    },
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own logger would otherwise print each line twice (its handler and the root's).
    "loggers": {"django": {"handlers": ["console"], "propagate": False}},
}
