"""Settings shared by every environment. Everything deployment-specific comes from the environment."""

from pathlib import Path

from redis.asyncio.retry import Retry  # the asyncio one: channels-redis is async
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from webapp.config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parents[3]

DEBUG = env_bool("DISTILLERY_DEBUG", False)
SECRET_KEY = env_str("DISTILLERY_SECRET_KEY")
ALLOWED_HOSTS = env_list("DISTILLERY_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DISTILLERY_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's static files, for the offline API reference
    "channels",
    "webapp.accounts",
    "webapp.registry",
    "webapp.jobs",
    "webapp.distillation",
    "webapp.evaluation",
    "webapp.economics",
    "webapp.approvals",
    "webapp.demo",
    "webapp.api",
    "webapp.ui",
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
    "webapp.accounts.middleware.CurrentTeamMiddleware",
    "webapp.ui.method_not_allowed.MethodNotAllowedPage",
]

ROOT_URLCONF = "webapp.config.urls"
WSGI_APPLICATION = "webapp.config.wsgi.application"
ASGI_APPLICATION = "webapp.config.asgi.application"

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
                "webapp.accounts.context_processors.teams",
            ],
            "builtins": ["webapp.ui.templatetags.ui"],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env_str("DISTILLERY_DB_NAME", "distillery"),
        "USER": env_str("DISTILLERY_DB_USER", "distillery"),
        "PASSWORD": env_str("DISTILLERY_DB_PASSWORD", ""),
        "HOST": env_str("DISTILLERY_DB_HOST", "127.0.0.1"),
        "PORT": env_str("DISTILLERY_DB_PORT", "54329"),
        "CONN_MAX_AGE": env_int("DISTILLERY_DB_CONN_MAX_AGE", 0),
        # A kept connection (the serving process's) is checked before reuse, so one broken by a PostgreSQL
        # restart is replaced instead of failing the next request.
        "CONN_HEALTH_CHECKS": True,
        # An unreachable database answers a request with a 503 within seconds instead of hanging it.
        "OPTIONS": {"connect_timeout": env_int("DISTILLERY_DB_CONNECT_TIMEOUT", 5)},
        "TEST": {"NAME": env_str("DISTILLERY_TEST_DB_NAME", "test_distillery")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # stored and sent as UTC; pages show times in the browser's own time zone
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "webapp.ui.staticfiles.PlotlyJsFinder",  # plotly.js straight from the pinned plotly package
]
STATIC_ROOT = Path(env_str("DISTILLERY_STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))

# Where uploaded datasets and job artifacts live (files are immutable once written).
DATA_DIR = Path(env_str("DISTILLERY_DATA_DIR", str(BASE_DIR / "var" / "dev" / "data")))
# Teachers and students given as local paths must resolve inside this folder.
MODEL_ROOT = Path(env_str("DISTILLERY_MODEL_ROOT", str(BASE_DIR / "var" / "dev" / "models")))
MAX_UPLOAD_BYTES = env_int("DISTILLERY_MAX_UPLOAD_MB", 100) * 1024 * 1024
# Bigger uploads spill to a temp file instead of memory; the cap above is checked while streaming.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_HANDLERS = ["webapp.registry.upload_handlers.CappedUploadHandler"]

REDIS_URL = env_str("DISTILLERY_REDIS_URL", "redis://127.0.0.1:63799/0")
# A live page's socket waits in channels-redis' blocking read (BZPOPMIN, 5 s). redis-py 8 gives every
# socket a 5 s read timeout by default, which races that read and closes the page's websocket (1011)
# every few seconds: read longer than the blocking read, but not forever (a vanished Redis still errors).
# Connecting fails fast, TCP keepalive spots dead peers, and a connection idle for a while is
# PINGed before use, so one dropped by a Redis restart is replaced instead of failing an event.
REDIS_SOCKET_OPTIONS = {
    "socket_timeout": 15,
    "socket_connect_timeout": 3,
    "socket_keepalive": True,
    "health_check_interval": 30,
}
# A pooled connection that a Redis restart closed fails on its next command (redis-py retries nothing by
# default): reconnect and retry a few times instead, so the first page opened after a restart still connects.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    **REDIS_SOCKET_OPTIONS,
                    "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
                    "retry_on_error": [RedisConnectionError],
                }
            ]
        },
    }
}

# Celery (the worker reads these through workers/celery_app.py).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The reaper (not Redis' visibility timeout) recovers jobs of dead workers, so keep this long.
# kombu's own blocking read (BRPOP) lasts 1 s and kombu PINGs idle connections every 25 s, so the same
# socket options keep a worker's and the web's broker connections healthy through long silences, while
# a publish to a Redis that stopped answering gives up instead of hanging the request.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600, **REDIS_SOCKET_OPTIONS, "health_check_interval": 25}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Starting a job publishes within the request: with Redis down, fail within about a second (the user
# is told and nothing is stored) rather than retrying for long.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_DEFAULT_QUEUE = "default"

# Jobs: a running job whose worker has not written a heartbeat for this long is reaped.
JOB_HEARTBEAT_SECONDS = env_int("DISTILLERY_JOB_HEARTBEAT_SECONDS", 10)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env_int("DISTILLERY_JOB_HEARTBEAT_TIMEOUT_SECONDS", 90)
JOB_MAX_ATTEMPTS = env_int("DISTILLERY_JOB_MAX_ATTEMPTS", 3)
JOB_REAPER_INTERVAL_SECONDS = env_int("DISTILLERY_JOB_REAPER_INTERVAL_SECONDS", 30)
# A job queued this long whose run message Redis does not hold (its send failed, or a Redis restart lost
# the queue) is sent again by the reaper.
JOB_RESEND_AFTER_SECONDS = env_int("DISTILLERY_JOB_RESEND_AFTER_SECONDS", 180)

# The stakeholder report's PDF is printed by headless Chromium (webapp/economics/pdf.py).
CHROMIUM = env_str("DISTILLERY_CHROMIUM", "/usr/bin/chromium")
PDF_TIMEOUT_SECONDS = env_int("DISTILLERY_PDF_TIMEOUT_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "webapp.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Distillery API",
    "DESCRIPTION": "Tasks, datasets, teachers and jobs, with the same permissions as the web pages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The reference at /api/docs/ loads Swagger UI from our own static files, and never asks the public
    # validator about the schema (its default badge would): the app must work air-gapped.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": False},
    # Datasets and evaluations both carry a dataset role: one enum in the schema, one name.
    "ENUM_NAME_OVERRIDES": {
        "DatasetRoleEnum": "webapp.registry.models.Dataset.Role",
        "ApprovalStateEnum": "webapp.approvals.models.ApprovalRequest.State",
        "DeploymentStateEnum": "webapp.approvals.models.Deployment.State",
        "HostKindEnum": "webapp.economics.analysis.HOST_KINDS",  # teacher_ and student_host_kind
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DISTILLERY_LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# Where the cascade serving process (`serving/`, started by `make run`) answers; deployment pages show it.
SERVING_URL = env_str("DISTILLERY_SERVING_URL", "http://127.0.0.1:8100")
