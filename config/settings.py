"""Django settings, read from the environment (django-environ); see .env.example.

Defaults suit a developer's machine: PostgreSQL and Redis on localhost. `make run` without
DATABASE_URL / CELERY_BROKER_URL points these at an embedded server and a filesystem broker
before Django starts (config/launcher.py).
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("CLINIC_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Only ever used on a developer's machine: production sets DJANGO_SECRET_KEY, and
    # `check --deploy` flags this value as insecure.
    default="django-insecure-development-only-key-do-not-use-in-production",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "corsheaders",
    "clinic",
    "scheduling",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "config.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "clinic.User"
AUTHENTICATION_BACKENDS = ["clinic.auth_backends.LockoutModelBackend"]

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

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default="postgres://postgres@localhost:5432/infusion_clinic"
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # every write goes through a service
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A process killed mid-statement (a worker SIGKILLed while waiting on a lock) leaves its
# statement running in PostgreSQL, which would commit it on its own if nobody checked: the
# server looks for its client every second and abandons the statement if it has gone.
# (PostgreSQL 14 or later; behind PgBouncer, list `options` in its ignore_startup_parameters
# and set the parameter on the server instead.)
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_db_options["options"] = " ".join(
    filter(None, [_db_options.get("options", ""), "-c client_connection_check_interval=1s"])
)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "DJANGO_TEST_DATABASE_NAME", default="test_infusion_clinic"
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
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders too; it only needs the folder
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve the packages' static files straight from their apps so that a fresh checkout needs no
# collectstatic step for the admin and Swagger UI.
WHITENOISE_USE_FINDERS = True

# --- Security -------------------------------------------------------------------------------
# TLS is terminated in front of the app. Redirect and secure cookies follow their own setting,
# not DEBUG, so `make run` serves plain HTTP on loopback with DEBUG off too.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# For every HTML page that sets no stricter policy of its own (the admin, the API docs); the
# patient's survey page sets default-src 'none'. Inline styles are allowed for Swagger UI and the
# admin; no inline or third-party script runs anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Cross-origin browser access is closed unless origins are named (comma-separated, with scheme),
# e.g. the clinic's own web front end on another host. Bearer tokens, so no credentials mode.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
# Proxies in front of the app that append to X-Forwarded-For; 0 trusts none (REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
# Largest request body accepted, in bytes (a 100-reading vitals batch is about 25 kB).
REQUEST_MAX_BYTES = env.int("DJANGO_REQUEST_MAX_BYTES", default=1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES

# --- Authentication -------------------------------------------------------------------------
AUTH_TOKEN_IDLE_TIMEOUT = timedelta(minutes=env.int("AUTH_TOKEN_IDLE_MINUTES", default=60))
AUTH_TOKEN_LIFETIME = timedelta(hours=env.int("AUTH_TOKEN_LIFETIME_HOURS", default=12))
# Failed logins counted over a window, per username and per client address.
LOGIN_FAILURE_WINDOW = timedelta(minutes=env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15))
LOGIN_MAX_FAILURES_PER_USERNAME = env.int("LOGIN_MAX_FAILURES_PER_USERNAME", default=5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("LOGIN_MAX_FAILURES_PER_ADDRESS", default=50)

# Where patients open their questionnaire links (the public address of this service).
# The base of links sent to patients; by default the address `make run` serves on (PORT), so a
# link works on the machine that sent it. Set it to the public HTTPS address in production.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="") or (
    f"http://127.0.0.1:{env.int('PORT', default=8000)}"
)
# Public (no login) questionnaire pages: requests per address per minute.
PUBLIC_SURVEY_RATE_PER_MINUTE = env.int("PUBLIC_SURVEY_RATE_PER_MINUTE", default=30)
# Shared by every web process for rate limits: e.g. redis://localhost:6379/1 in production.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Outbound messages ------------------------------------------------------------------------
# E-mail through Django's backends: EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.org:587 ; the default prints e-mails to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = 10  # seconds: a stuck SMTP server must not hold a delivery past its claim
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Infusion clinic <clinic@localhost>")
# SMS: clinic.messaging.ConsoleSmsBackend (log, no personal data), InMemorySmsBackend,
# FileSmsBackend (JSON lines at SMS_FILE_PATH) or TwilioSmsBackend (TWILIO_* below).
SMS_BACKEND = env.str("SMS_BACKEND", default="clinic.messaging.ConsoleSmsBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms.jsonl"))
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["clinic.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.HasRole"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.SafeJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
API_MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "Infusion clinic API",
    "DESCRIPTION": "Scheduling and monitoring for ketamine infusion clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger's groups and every operation's one-line summary (config/api/operations.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.operations.catalogue_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "clinic.models.Role.choices",
        "ChannelEnum": "clinic.models.Channel.choices",
        "SessionStatusEnum": "scheduling.models.SessionStatus.choices",
        "NotificationStatusEnum": "clinic.models.NotificationStatus.choices",
        "AlertSeverityEnum": "monitoring.models.Severity.choices",
        "AdverseEventSeverityEnum": "monitoring.models.AdverseEventSeverity.choices",
        "AdverseEventKindEnum": "monitoring.models.AdverseEventKind.choices",
        "NotificationKindEnum": "clinic.models.NotificationKind.choices",
        "SurveyStatusEnum": "monitoring.models.SurveyStatus.choices",
        "AlertStatusEnum": "monitoring.models.AlertStatus.choices",
        "DischargeArrangementEnum": "scheduling.models.DischargeArrangement.choices",
    },
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://localhost:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # A task not acknowledged within this time (its worker died) is delivered again.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Fail fast when Redis is down, so that a request never waits on it.
    CELERY_BROKER_TRANSPORT_OPTIONS.update(socket_connect_timeout=2, socket_timeout=5)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_broker_dir / "queue"),
        data_folder_out=str(_broker_dir / "queue"),
        control_folder=str(_broker_dir / "control"),
        store_processed=False,
    )
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 20
# How long a worker's claim on an outbox message lasts. A message claimed by a worker that died
# is sent by another once the claim lapses; a live worker must never lose its claim mid-send,
# so the claim outlasts CELERY_TASK_TIME_LIMIT (checked at start-up: clinic/checks.py).
NOTIFICATION_CLAIM_SECONDS = env.int("NOTIFICATION_CLAIM_SECONDS", default=300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing must never hang a request when the broker is down: fail fast, and let the beat
# sweeps pick up whatever was not enqueued.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule lives in code; django-celery-beat copies it into the database at start-up.
CELERY_BEAT_SCHEDULE = {
    "purge-expired-auth-tokens": {
        "task": "clinic.tasks.auth_tokens_purge_expired",
        "schedule": timedelta(hours=1),
    },
    "deliver-due-notifications": {
        "task": "clinic.tasks.notifications_deliver_due",
        "schedule": timedelta(seconds=10),
    },
    "create-baseline-surveys": {
        "task": "monitoring.tasks.surveys_create_baselines",
        "schedule": timedelta(minutes=1),
    },
    "expire-overdue-surveys": {
        "task": "monitoring.tasks.surveys_expire_overdue",
        "schedule": timedelta(minutes=5),
    },
    "mark-no-shows": {
        "task": "scheduling.tasks.sessions_mark_no_shows",
        "schedule": timedelta(minutes=1),
    },
    # The safety net under on-commit flagging: a reading the broker never carried is flagged
    # within a few seconds anyway (DESIGN.md 4).
    "flag-unflagged-readings": {
        "task": "monitoring.tasks.vital_readings_flag_unflagged",
        "schedule": timedelta(seconds=5),
    },
    "escalate-open-critical-alerts": {
        "task": "monitoring.tasks.alerts_escalate_due",
        "schedule": timedelta(seconds=30),
    },
    "detect-missed-readings": {
        "task": "monitoring.tasks.missed_readings_detect",
        "schedule": timedelta(minutes=1),
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
