"""Platform settings.

Embedded defaults (SQLite under var/, Celery's filesystem broker) make `make run` work on a bare
machine; production is configured by environment only (see README, "Configuration").

One module of about 450 lines, kept whole on purpose: Django reads settings from one module, and
a reader looking for a setting searches one file. A "# --- <concern> ---" heading opens each
section (database, security, API, Celery, audit, detection, jobs, consent, hardening, rate
limits); sections hold values and the comments that say why, no logic beyond reading the
environment.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
PLATFORM_DIR = BASE_DIR / "platform"
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random one kept in var/ (0600), never in the DB."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "audit",
    "consent",
    "jobs",
    "detection",
    "live",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.request_context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "site:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "templates"],
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

# --- Database -------------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # Reopening the database on every request cost most of a status poll's time.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN: measured, without it two workers failed
                # 172 of 300 read-then-write tasks with "database is locked"; with it 0.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASE_DESCRIPTION = (
    "PostgreSQL (DATABASE_URL)"
    if os.environ.get("DATABASE_URL")
    else f"SQLite at {VAR_DIR / 'db.sqlite3'}"
)
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
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads and outputs live outside any web root and are only served through permission-checked
# views; files get random names.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()
PLATFORM_KEYS_DIR = Path(os.environ.get("PLATFORM_KEYS_DIR", VAR_DIR / "keys")).resolve()
PLATFORM_OPERATOR = os.environ.get("PLATFORM_OPERATOR", "Consented Talking Faces (demo operator)")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 2**20
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 2**20

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", not DEBUG and _env_bool("HTTPS", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _env_bool("HTTPS", False)
SECURE_HSTS_SECONDS = 31_536_000 if _env_bool("HTTPS", False) else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _env_bool("HTTPS", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "1200/min"),
        "signup": os.environ.get("THROTTLE_SIGNUP", "20/hour"),
        "detection": os.environ.get("THROTTLE_DETECTION", "30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens (django-rest-knox): stored as SHA-512 digests, valid for a working week, revoked by
# POST /api/v1/auth/token/logout (this token) or /logout-all (every token of the caller).
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=int(os.environ.get("API_TOKEN_TTL_HOURS", 7 * 24))),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Consented Talking Faces API",
    "DESCRIPTION": "Gated talking-face generation, consent, detection and audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc are served from this origin (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
CELERY_PROCESSED_DIR = VAR_DIR / "celery" / "processed"
CELERY_CONTROL_DIR = VAR_DIR / "celery" / "control"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders must exist before a worker starts (a missing one crashes it), and the default
    # 1 s polling makes progress look frozen: 0.1 s measured fine.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "processed_folder": str(CELERY_PROCESSED_DIR),
        "control_folder": str(CELERY_CONTROL_DIR),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    # kombu's own transport can lose a message to a worker that reads it half-written.
    CELERY_BROKER_TRANSPORT = "config.filesystem_broker:Transport"
CELERY_BROKER_DESCRIPTION = (
    CELERY_BROKER_URL.split("@")[-1]
    if not CELERY_BROKER_URL.startswith("filesystem://")
    else f"Celery filesystem broker at {CELERY_QUEUE_DIR}"
)
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {"jobs.*": {"queue": os.environ.get("GENERATION_QUEUE", "celery")}}

# --- Audit ----------------------------------------------------------------------------------
AUDIT_CHECKPOINT_EVERY_EVENTS = 100
AUDIT_CHECKPOINT_EVERY_SECONDS = 300

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Detection ------------------------------------------------------------------------------
# Caps on what anyone may upload for a check: read from headers before anything is decoded.
DETECTION_MAX_BYTES = int(os.environ.get("DETECTION_MAX_BYTES", 200 * 2**20))
DETECTION_MAX_SECONDS = float(os.environ.get("DETECTION_MAX_SECONDS", 300))
DETECTION_MAX_PIXELS = int(os.environ.get("DETECTION_MAX_PIXELS", 4096 * 4096))
# Clips up to this long are checked while the client waits; longer ones go to a Celery worker.
DETECTION_SYNC_MAX_SECONDS = float(os.environ.get("DETECTION_SYNC_MAX_SECONDS", 15))

# --- Jobs -----------------------------------------------------------------------------------
JOBS_MAX_AUDIO_BYTES = int(os.environ.get("JOBS_MAX_AUDIO_BYTES", 50 * 2**20))
JOBS_MAX_PORTRAIT_BYTES = int(os.environ.get("JOBS_MAX_PORTRAIT_BYTES", 20 * 2**20))
# Decode cap for speech uploads; the policy's own (lower) limit then denies with a reason.
JOBS_MAX_AUDIO_DECODE_SECONDS = float(os.environ.get("JOBS_MAX_AUDIO_DECODE_SECONDS", 600))
JOBS_TICKET_MINUTES = int(os.environ.get("JOBS_TICKET_MINUTES", 15))
JOBS_SOFT_TIME_LIMIT = int(os.environ.get("JOBS_SOFT_TIME_LIMIT", 15 * 60))
JOBS_HARD_TIME_LIMIT = int(os.environ.get("JOBS_HARD_TIME_LIMIT", 16 * 60))
# A running job whose progress has not moved for this long is presumed dead (SIGKILL, OOM), and
# a redelivered task may take it over.
JOBS_LEASE_SECONDS = int(os.environ.get("JOBS_LEASE_SECONDS", 60))
JOBS_GENERATOR_VERSION = os.environ.get("JOBS_GENERATOR_VERSION", "vasa-style-0.1")
# Lifetime of the signed link the result page gives its player (jobs.media_links).
JOBS_VIEW_LINK_SECONDS = int(os.environ.get("JOBS_VIEW_LINK_SECONDS", 600))
# The reaper (jobs.reaper, from beat): a job whose worker died is queued again until it was
# started this many times, then failed with a reason.
JOBS_MAX_ATTEMPTS = int(os.environ.get("JOBS_MAX_ATTEMPTS", 3))
JOBS_REAP_SECONDS = float(os.environ.get("JOBS_REAP_SECONDS", 30))
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "jobs-reap-stale": {
        "task": "jobs.reap_stale",
        "schedule": JOBS_REAP_SECONDS,
        # A worker busy with a long job must not find a pile of reaps waiting afterwards.
        "options": {"expires": JOBS_REAP_SECONDS},
    },
}
# Reaping is cheap bookkeeping: it runs on the default queue, not behind generation on a GPU one.
CELERY_TASK_ROUTES = {"jobs.reap_stale": {"queue": "celery"}, **CELERY_TASK_ROUTES}
# `worker -B` (make run) keeps beat's schedule state here, not in the source tree.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers an unacknowledged (acks_late) task after this many seconds: it must be
    # longer than the hard time limit, or a slow job would run twice at once.
    _visibility = int(os.environ.get("JOBS_VISIBILITY_TIMEOUT", JOBS_HARD_TIME_LIMIT + 60))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        # kombu sweeps for overdue tasks every interval x throttle seconds, 100 s by default:
        # a killed worker's job would wait that long beyond its timeout. A sweep is one small
        # sorted-set range read, so once every 1-10 s (an eighth of the timeout) costs nothing.
        "unacked_restore_interval": max(1, min(10, _visibility // 8)),
        "unacked_restore_throttle": 1,
    }

# --- Consent --------------------------------------------------------------------------------
CONSENT_CODE_MINUTES = 15  # the one-time code in the verification statement
CONSENT_FACE_MATCH_THRESHOLD = float(os.environ.get("CONSENT_FACE_MATCH_THRESHOLD", "0.5"))
CONSENT_CLIP_MIN_SECONDS = 3.0
CONSENT_CLIP_MAX_SECONDS = 60.0
CONSENT_CLIP_MAX_BYTES = 50 * 2**20
CONSENT_CLIP_SAMPLE_FRAMES = 10
CONSENT_CLIP_MIN_FACE_FRACTION = 0.8
# Recording in the browser is the default; uploading a file is for kiosks and tests only, since a
# pre-made file is easier to fake than a live recording of a fresh code.
CONSENT_ALLOW_CLIP_UPLOAD = _env_bool("CONSENT_ALLOW_CLIP_UPLOAD", False)
CONSENT_PORTRAIT_MAX_BYTES = 15 * 2**20
CONSENT_GRANT_DEFAULT_DAYS = 365
CONSENT_GRANT_MAX_DAYS = 365
CONSENT_GRANT_MAX_CLIP_SECONDS = 300
CONSENT_JURISDICTION = os.environ.get("CONSENT_JURISDICTION", "GB")
CONSENT_CONTROLLER_CONTACT = os.environ.get("CONSENT_CONTROLLER_CONTACT", "privacy@localhost")
CONSENT_PUBLIC_BASE_URL = os.environ.get("CONSENT_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# --- Audit review ---------------------------------------------------------------------------
# The periodic checkpoint + whole-log verification (audit.tasks); without beat, run
# `python manage.py audit_maintenance` from cron every 5 minutes (see its docstring).
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "audit-checkpoint-and-verify": {
        "task": "audit.checkpoint_and_verify",
        "schedule": float(AUDIT_CHECKPOINT_EVERY_SECONDS),
    },
}

# --- Security hardening ---------------------------------------------------------------------
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "axes"]
# django-otp reads the session's verified device right after authentication; the staff gate
# follows it; axes goes last (its docs: it turns a flagged lockout into the 429 answer).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "accounts.two_factor.StaffTwoFactorMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "core.auth_backends.WebLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
OTP_TOTP_ISSUER = "Consented Talking Faces"
OTP_TOTP_THROTTLE_FACTOR = 1  # 1 s, 2 s, 4 s ... after each wrong code
# Lock a username+IP pair out for 15 minutes after 5 wrong passwords; a success resets it.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.request_context.client_ip_of"
AXES_SENSITIVE_PARAMETERS = ["password", "token", "otp_token"]
AXES_VERBOSE = False
# Sessions: end with the browser, expire after 8 hours idle-or-not, cookies never readable by JS.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Refuse requests with more than this many form fields or files (request-parsing DoS).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 5
# Passwords, tokens and uploads never reach the logs: Django already scrubs sensitive POST data
# in error reports; this filter also drops request bodies from the django.request logger.
LOGGING["filters"] = {
    **LOGGING.get("filters", {}),
    "no_secrets": {"()": "core.log_filters.SecretScrubbingFilter"},
}
LOGGING["handlers"]["console"]["filters"] = ["no_secrets"]
LOGGING["loggers"]["axes"] = {"level": os.environ.get("AXES_LOG_LEVEL", "WARNING")}
# A bearer token carries no second factor: staff tokens are refused (accounts.two_factor).
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    (
        "accounts.two_factor.NonStaffTokenAuthentication"
        if path.endswith(".TokenAuthentication")
        else path
    )
    for path in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
]
# One schema name per shared choice set (check --deploy runs drf-spectacular's schema checks).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES", {}),
    "EmotionEnum": "generator.config.EMOTIONS",
    "PurposeEnum": "policy.purposes.PURPOSES",
}
# json.loads raises RecursionError (not ValueError) on deeply nested input: core's parser maps it.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "core.parsers.JSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]

# --- Rate limits, proxies and the shared cache -----------------------------------------------
# Addresses or networks (CIDR) of the reverse proxies in front of the app. Only a request whose
# peer is one of them has its X-Forwarded-For read (core.request_context.client_ip_of, used by the
# rate limits, the login lockout and the audit log); by default nobody's is.
# A typo fails here, at start, not as a 500 on every request.
TRUSTED_PROXIES = [
    str(ipaddress.ip_network(entry, strict=False)) for entry in _env_list("TRUSTED_PROXIES", "")
]
# Rate-limit counters must be shared by every web process, or each gunicorn worker allows the
# full rate: Redis when CACHE_URL (or REDIS_URL) names one, else a table in the database (made
# by `manage.py createcachetable`, which `migrate` also runs: core.apps).
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            # Culling drops live counters; room for tens of thousands of clients an hour.
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }
# DRF never reads X-Forwarded-For itself (0: REMOTE_ADDR); core's throttles use client_ip_of and
# count under a lock shared by every process.
REST_FRAMEWORK["NUM_PROXIES"] = 0
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "core.throttling.AnonRateThrottle",
    "core.throttling.UserRateThrottle",
]
# Checks running at once (each holds an upload on disk and seconds of CPU), and clips waiting for
# a worker: past these a check is refused with 503 rather than queued.
DETECTION_MAX_CONCURRENT = int(os.environ.get("DETECTION_MAX_CONCURRENT", 2))
DETECTION_MAX_PENDING = int(os.environ.get("DETECTION_MAX_PENDING", 4))
DETECTION_SLOT_LEASE_SECONDS = int(os.environ.get("DETECTION_SLOT_LEASE_SECONDS", 300))
# Load balancers probe the health check over plain HTTP and count a redirect as a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Longer URLs get a JSON 414 (core.request_limits); gunicorn's limit_request_line (8190) is above.
URL_MAX_LENGTH = 4096
MIDDLEWARE.insert(0, "core.request_limits.UrlLengthMiddleware")
