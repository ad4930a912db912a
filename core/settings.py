"""Breach Desk settings. Every knob comes from the environment; see README's configuration table."""

from __future__ import annotations

import base64
import hashlib
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core import pii, record_key
from core.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BREACH_DESK_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required unless DJANGO_DEBUG=1 (local development only)."
        )
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # naturaltime's words ("12 minutes ago") in every language, for relative times on pages.
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "incidents",
    "notifier",
    "django_htmx",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost after security: API, evidence and dossier answers (4xx too) are never cached.
    "core.no_store.NoStoreApiMiddleware",
    # Serves our static files (and django-htmx's) under daphne, in development and production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "core.api.http.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After auth: the user's saved language beats cookie/Accept-Language; their zone is activated.
    "frontend.middleware.UserPreferencesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontend.middleware.ContentSecurityPolicyMiddleware",
    # The admin's and the API docs' own policy (core/third_party_csp.py).
    "core.third_party_csp.ThirdPartyPagesCspMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'breach_desk.sqlite3'}"
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # dj-database-url raises several kinds for one cause
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # Many writers on one file, through Django's own options: IMMEDIATE takes the write lock
        # at BEGIN, so two writers queue on the busy timeout instead of failing mid-way with
        # "database is locked" when a read lock would need upgrading; WAL (set once, stored in
        # the file: core.apps) lets readers run beside the writer.
        # A request thread keeps its connection (core/request_threads.py): opening one costs
        # more than a transition's own queries.
        config["CONN_MAX_AGE"] = 600
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
        config["TEST"] = {"NAME": str(VAR_DIR / "test_breach_desk.sqlite3")}
    elif engine in {"django.db.backends.postgresql", "django.db.backends.postgis"}:
        config["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
        # Each pooled connection is checked before a request gets it (psycopg_pool's
        # ConnectionPool.check_connection): after PostgreSQL restarts, the idle ones are dead
        # and the first write would fail on one. Django 5.2 passes that check to the pool
        # itself when CONN_HEALTH_CHECKS is on, and refuses a second `check` in
        # OPTIONS["pool"] (a duplicate keyword argument).
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=1),
                "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
                # How long a request waits for a connection before it is a 503
                # (core/db_outage.py): while PostgreSQL is down, every request waits this long.
                "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1),
            }
        }
    else:
        raise ImproperlyConfigured(f"DATABASE_URL engine {engine!r} is not supported")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL") or None
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {REDIS_URL!r}")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # A prefix keeps several deployments (or parallel test runs) on one Redis apart:
            # pub/sub channels are server-wide, not per database number.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_PREFIX", "breachdesk")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Live stream (issue 3; docs/live-stream.md) -----------------------------------------------
# Longest a committed change waits for its broadcast (Redis down must not stall requests).
STREAM_SEND_TIMEOUT = env_float("STREAM_SEND_TIMEOUT", 0.5, minimum=0.01)
# Frames held for a client that does not read; past this it is dropped (close 4008) and resyncs.
STREAM_CLIENT_QUEUE = env_int("STREAM_CLIENT_QUEUE", 200, minimum=1)
# How long a consumer holds an event that arrived before an earlier seq (two processes committed
# close together) before giving up on the missing one and letting the client resync.
STREAM_REORDER_SECONDS = env_float("STREAM_REORDER_SECONDS", 0.2, minimum=0.0)
# Each web process reads the log head this often and tells clients that are behind it.
STREAM_HEARTBEAT_SECONDS = env_float("STREAM_HEARTBEAT_SECONDS", 15.0, minimum=0.05)
# Each web process asks again who its connected clients are this often, and closes those whose
# user was deactivated, signed out or lost every role. Sign-outs, deactivations and role removals
# made through Django announce themselves and are acted on at once; this catches the rest.
STREAM_ACCESS_CHECK_SECONDS = env_float("STREAM_ACCESS_CHECK_SECONDS", 60.0, minimum=0.05)
# gc.freeze() + a higher gen-0 threshold in daphne after start-up (bench/README.md, Live stream).
WEB_GC_TUNING = env_bool("WEB_GC_TUNING", True)
# Long-lived threads one web process runs HTTP requests' middleware and views on
# (core/request_threads.py); a request waits on the event loop for a free one. Python runs one
# thread at a time, so more only makes requests wait for each other mid-way, holding locks
# longer (bench/README.md, issue 16).
WEB_REQUEST_THREADS = env_int("WEB_REQUEST_THREADS", 8, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "fa", {"fa", "en"})
LANGUAGES = [("fa", "فارسی"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Tehran")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Legal workspace (issue 6; docs/legal.md) ------------------------------------------------
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 100 * 1024 * 1024, minimum=1)
# Executives read the record but do not handle evidence unless the company decides otherwise.
EVIDENCE_EXECUTIVE_DOWNLOAD = env_bool("EVIDENCE_EXECUTIVE_DOWNLOAD", False)
# Evidence streams to a temporary file past this size instead of memory (Django's default).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# The letterhead of every typeset document (the dossier, reports: incidents/legal/typeset.py):
# the company's name (COMPANY_NAME / COMPANY_NAME_FA, below with the notices), its postal
# address in English and in Persian, and a logo image file (PNG, JPEG or SVG; optional).
COMPANY_ADDRESS = env_str("COMPANY_ADDRESS", "") or ""
COMPANY_ADDRESS_FA = env_str("COMPANY_ADDRESS_FA", "") or COMPANY_ADDRESS
COMPANY_LOGO = env_str("COMPANY_LOGO", "") or ""
if COMPANY_LOGO and not Path(COMPANY_LOGO).is_file():
    raise ImproperlyConfigured(f"COMPANY_LOGO names no file: {COMPANY_LOGO}")

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Static files come from the apps' folders (no collectstatic needed to run); `collectstatic`
# into STATIC_ROOT still works for a proxy or CDN in production (docs/pages.md).
WHITENOISE_USE_FINDERS = True
# Failures for one username (from any address) before its attempts wait 1, 2, 4... s, up to
# LOGIN_MAX_DELAY_SECONDS (core/signin.py; the per-address count is further down).
LOGIN_FAILURES_BEFORE_DELAY = env_int("LOGIN_FAILURES_BEFORE_DELAY", 3, minimum=1)
LOGIN_MAX_DELAY_SECONDS = env_int("LOGIN_MAX_DELAY_SECONDS", 300, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous requests a 401, not a 403.
        # Our own tokens (core.models.ApiToken): several per person, expiring, tied to the password.
        "core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.roles.HasRole"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Sign-in attempts are limited by core/signin.py (LOGIN_* below), not by a DRF throttle.
    # Should a throttle be added, it counts per REMOTE_ADDR, never per X-Forwarded-For, which any
    # client can send. Behind a proxy, daphne --proxy-headers puts the client's address in
    # REMOTE_ADDR (docs/operations.md).
    "NUM_PROXIES": 0,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Breach Desk API",
    "DESCRIPTION": "Breach incident response: detection, scoping, restoration, legal referral.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every other API route: signed-in users only (the docs page sends anonymous browsers
    # to the sign-in page instead, core/urls.py).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the drf-spectacular-sidecar package's static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name for a choice set that several fields use (drf-spectacular W001).
    "ENUM_NAME_OVERRIDES": {
        "DataCategory": "incidents.choices.DataCategory",
        # The incident's state, and a task's phase (a state of the incident).
        "IncidentStateEnum": "incidents.choices.State",
        # An incident's severity, and a severity threshold (alert preferences, webhooks).
        "SeverityEnum": "incidents.choices.Severity",
        "Sensitivity": "incidents.models.notification.Sensitivity",
        "NotificationOutcome": "incidents.models.notification.Outcome",
        "NoticeExemption": "incidents.models.notification.Exemption",
        "NoticeLanguageEnum": "incidents.models.register.NoticeLanguage",
        "AuthorityEnum": "incidents.choices.Authority",
        "DocumentKindEnum": "incidents.models.documents.DocumentKind",
        "DocumentStateEnum": "incidents.models.documents.Document.STATES",
        "DocumentAddresseeEnum": "incidents.legal.document_kinds.ADDRESSEE_CHOICES",
        "AlertStatusEnum": "incidents.alert_formats.ALERT_STATUSES",
    },
    # Every operation's error answers in the schema (core/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"()": "core.logs.UTCFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Telegram notifier (issue 4; docs/channels.md) --------------------------------------------
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN", "") or ""
TELEGRAM_BOT_USERNAME = (env_str("TELEGRAM_BOT_USERNAME", "") or "").lstrip("@")
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET", "") or ""
_telegram_api = env_str("TELEGRAM_API_BASE_URL", "https://api.telegram.org") or ""
TELEGRAM_API_BASE_URL = _telegram_api.rstrip("/")
TELEGRAM_INCLUDE_TITLE = env_bool("TELEGRAM_INCLUDE_TITLE", True)
TELEGRAM_GLOBAL_RATE = env_float("TELEGRAM_GLOBAL_RATE", 30.0, minimum=0.1)
TELEGRAM_CHAT_INTERVAL_SECONDS = env_float("TELEGRAM_CHAT_INTERVAL_SECONDS", 1.0, minimum=0.0)
TELEGRAM_MAX_ATTEMPTS = env_int("TELEGRAM_MAX_ATTEMPTS", 8, minimum=1)
TELEGRAM_RETRY_BASE_SECONDS = env_float("TELEGRAM_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
TELEGRAM_RETRY_MAX_SECONDS = env_float("TELEGRAM_RETRY_MAX_SECONDS", 600.0, minimum=0.0)
TELEGRAM_TIMEOUT_SECONDS = env_float("TELEGRAM_TIMEOUT_SECONDS", 10.0, minimum=0.1)
NOTIFIER_POLL_SECONDS = env_float("NOTIFIER_POLL_SECONDS", 0.5, minimum=0.01)
NOTIFIER_LEASE_SECONDS = env_float("NOTIFIER_LEASE_SECONDS", 60.0, minimum=1.0)
ESCALATION_MINUTES = env_float("ESCALATION_MINUTES", 10.0, minimum=0.0)
ESCALATION_LEVELS = env_int("ESCALATION_LEVELS", 2, minimum=1)

# --- Bale (issue 22; docs/channels.md): the same Bot API shape at another base URL ------------
BALE_BOT_TOKEN = env_str("BALE_BOT_TOKEN", "") or ""
BALE_BOT_USERNAME = (env_str("BALE_BOT_USERNAME", "") or "").lstrip("@")
BALE_WEBHOOK_SECRET = env_str("BALE_WEBHOOK_SECRET", "") or ""
BALE_API_BASE_URL = (env_str("BALE_API_BASE_URL", "https://tapi.bale.ai") or "").rstrip("/")
BALE_GLOBAL_RATE = env_float("BALE_GLOBAL_RATE", 20.0, minimum=0.1)
BALE_CHAT_INTERVAL_SECONDS = env_float("BALE_CHAT_INTERVAL_SECONDS", 1.0, minimum=0.0)

# --- Email alerts to responders and outbound webhooks (issue 22) ------------------------------
# Alerts by email use the email settings below (EMAIL_HOST, ...), like the notices.
EMAIL_ALERTS = env_bool("EMAIL_ALERTS", True)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Outbound webhooks to loopback and private addresses are refused (a registered URL must not
# reach into the company's own network) unless this is set, as tests and a lab may.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# Inbound alerts (docs/integrations.md): an alert that keeps firing is noted on its incident's
# timeline at most once per this many minutes, each note counting the repeats since the last.
INTEGRATION_REPEAT_NOTE_MINUTES = env_float("INTEGRATION_REPEAT_NOTE_MINUTES", 30.0, minimum=0.0)

# --- The incident workspace (issue 20) -------------------------------------------------------
# Closing an incident of these severities needs a finished post-incident review.
REVIEW_REQUIRED_SEVERITIES = env_list("REVIEW_REQUIRED_SEVERITIES", ["high", "critical"])
_unknown_severities = set(REVIEW_REQUIRED_SEVERITIES) - {"low", "medium", "high", "critical"}
if _unknown_severities:
    raise ImproperlyConfigured(
        f"REVIEW_REQUIRED_SEVERITIES: unknown severities {sorted(_unknown_severities)}"
    )
# mark_restored needs the restoring phase's "second engineer" tasks done by someone who did
# none of that phase's other tasks.
RESTORE_NEEDS_SECOND_ENGINEER = env_bool("RESTORE_NEEDS_SECOND_ENGINEER", True)

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- HTTPS behind the proxy: HSTS and redirect (issue 17 item 4) -----------------------------
# nginx terminates TLS and sets X-Forwarded-Proto itself (deploy/nginx/), so Django trusts that
# header to know a request came over https. Only sound because the web ports are not published.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    # The preload flag only consents; nothing is listed until someone submits the domain.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    # The compose healthcheck probes the web process over plain http on loopback.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Sign-in limits and API tokens (issue 17; core/signin.py, core/models.py ApiToken) --------
# The shared cache holds the sign-in counters, so every web process sees the same counts and a
# restart forgets none: Redis when REDIS_URL is set, else a table in the database (made by
# `manage.py createcachetable`, which runs wherever migrate does).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "breach_desk_cache",
        }
    }
# The template's {% cache %} fragments (the dashboard's open rows, keyed by everything a row
# shows): in each process's memory, as a render is (a network trip per row would cost more
# than rendering it).
CACHES["template_fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "template-fragments",
    "OPTIONS": {"MAX_ENTRIES": 2000},
}
# Keeps several deployments (or parallel test runs) on one Redis apart.
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX", "breachdesk") or "breachdesk"
# Failures from one client address (any usernames) before its attempts wait 1, 2, 4... s.
LOGIN_ADDRESS_FAILURES_BEFORE_DELAY = env_int("LOGIN_ADDRESS_FAILURES_BEFORE_DELAY", 10, minimum=1)
# A counter is forgotten this long after its last failure.
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 3600, minimum=60)
# An API token's lifetime; a new one comes from POST /api/auth/token/.
API_TOKEN_TTL_HOURS = env_float("API_TOKEN_TTL_HOURS", 12.0, minimum=0.01)
# A signed-in page session ends this long after sign-in (Django's default is two weeks: too long
# for the app that holds a breach's evidence). A password change ends sessions at once anyway.
SESSION_COOKIE_AGE = round(env_float("SESSION_HOURS", 12.0, minimum=0.1) * 3600)

# --- Customers' personal data: the affected-people register (issue 18; core/pii.py) ----------
# Sealed at rest with this key (Fernet: 32 random bytes, url-safe base64). Required in
# production; losing it loses the register's contact data, so keep it apart from the database's
# backups. Older keys that must still open existing rows go in the fallbacks (comma-separated).
PII_ENCRYPTION_KEY = env_str("PII_ENCRYPTION_KEY", "") or ""
if not PII_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEY is required unless DJANGO_DEBUG=1; make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    # Local development only: a key derived from the development secret.
    PII_ENCRYPTION_KEY = base64.urlsafe_b64encode(
        hashlib.sha256(b"breach-desk pii " + SECRET_KEY.encode()).digest()
    ).decode("ascii")
PII_ENCRYPTION_KEYS = [
    pii.check_key(PII_ENCRYPTION_KEY),
    *(
        pii.check_key(key, "PII_ENCRYPTION_KEY_FALLBACKS")
        for key in env_list("PII_ENCRYPTION_KEY_FALLBACKS")
    ),
]
# The largest CSV file the register's import takes (413 above it; nginx's import location
# allows the same plus the multipart envelope: deploy/nginx/). 100,000 people are some 8 MiB.
# The app's own guard before Django (incidents/legal/upload_limit.py) stops at
# EVIDENCE_MAX_BYTES, so a larger value here has no effect beyond that.
AFFECTED_PEOPLE_IMPORT_MAX_BYTES = env_int(
    "AFFECTED_PEOPLE_IMPORT_MAX_BYTES", 32 * 1024 * 1024, minimum=1
)
# Contact data is purged this many days after its incident was closed or dismissed
# (manage.py purge_affected_people, run daily); the counts remain.
AFFECTED_PEOPLE_RETENTION_DAYS = env_int("AFFECTED_PEOPLE_RETENTION_DAYS", 365, minimum=0)

# --- Notices to the people affected: email and SMS (issue 18; docs/notifications.md) --------
# Who the notices come from (the Persian letter names COMPANY_NAME_FA), and how people reach the
# company: free text the letters quote ("support@shop.example, 021-1234 5678").
COMPANY_NAME = env_str("COMPANY_NAME", "") or "Example Shop"
COMPANY_NAME_FA = env_str("COMPANY_NAME_FA", "") or COMPANY_NAME
NOTICE_CONTACT = env_str("NOTICE_CONTACT", "") or ""
# The contact point a GDPR art. 33(3)(b) notification names (the data-protection officer, or
# another point of contact): free text, "dpo@shop.example, 021-1234 5678"; the notice contact
# when unset (docs/legal.md, "Documents").
DPO_CONTACT = env_str("DPO_CONTACT", "") or NOTICE_CONTACT
# Email goes through Django's email framework: SMTP with EMAIL_HOST. Without it, local
# development (DJANGO_DEBUG=1, `make run`) writes each mail to VAR_DIR/mail/ instead and the
# worker says so; in production, email notices wait (queued, not lost) until EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (TLS from the start, port 465) "
        "exclude each other: set one to 0."
    )
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 30.0, minimum=0.1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "") or ""
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    if not DEFAULT_FROM_EMAIL:
        raise ImproperlyConfigured(
            "DEFAULT_FROM_EMAIL is required with EMAIL_HOST: the address notices come from."
        )
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = DEFAULT_FROM_EMAIL or "breach-desk@localhost"
# SMS, for people without an email, through an HTTP gateway (docs/notifications.md, "The SMS
# gateway"). Without SMS_GATEWAY_URL, local development writes each SMS to VAR_DIR/sms/ and
# production keeps SMS notices waiting.
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "") or ""
SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN", "") or ""
if SMS_GATEWAY_URL and not SMS_GATEWAY_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"SMS_GATEWAY_URL must be an http(s) URL, got {SMS_GATEWAY_URL!r}")
if SMS_GATEWAY_URL and not SMS_GATEWAY_TOKEN and not DEBUG:
    raise ImproperlyConfigured("SMS_GATEWAY_TOKEN is required with SMS_GATEWAY_URL.")
SMS_FILE_PATH = str(VAR_DIR / "sms") if DEBUG and not SMS_GATEWAY_URL else ""
SMS_TIMEOUT_SECONDS = env_float("SMS_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Notices tried per minute on each channel, by all workers together (a provider's limit).
EMAIL_RATE_PER_MINUTE = env_int("EMAIL_RATE_PER_MINUTE", 600, minimum=1)
SMS_RATE_PER_MINUTE = env_int("SMS_RATE_PER_MINUTE", 60, minimum=1)
# A notice that failed is tried again after BASE x 2^(n-1) seconds (half of it random), at most
# MAX; after NOTICE_MAX_ATTEMPTS failures it is dead (a permanent refusal kills it at once).
NOTICE_MAX_ATTEMPTS = env_int("NOTICE_MAX_ATTEMPTS", 8, minimum=1)
NOTICE_RETRY_BASE_SECONDS = env_float("NOTICE_RETRY_BASE_SECONDS", 60.0, minimum=0.0)
NOTICE_RETRY_MAX_SECONDS = env_float("NOTICE_RETRY_MAX_SECONDS", 3600.0, minimum=0.0)
# The public "Am I affected?" check (incidents/affected/checks.py): codes asked for one address,
# and from one client address, in any hour (each code message goes to an inbox or a phone that
# did not necessarily ask for it); how long a code is good for; codes entered before it is spent.
PUBLIC_CHECK_PER_ADDRESS_PER_HOUR = env_int("PUBLIC_CHECK_PER_ADDRESS_PER_HOUR", 3, minimum=1)
PUBLIC_CHECK_PER_CLIENT_PER_HOUR = env_int("PUBLIC_CHECK_PER_CLIENT_PER_HOUR", 10, minimum=1)
PUBLIC_CHECK_CODE_MINUTES = env_int("PUBLIC_CHECK_CODE_MINUTES", 15, minimum=1)
PUBLIC_CHECK_MAX_TRIES = env_int("PUBLIC_CHECK_MAX_TRIES", 5, minimum=1)
# httpx (the SMS gateway's client, and python-telegram-bot's) logs every request's URL at INFO:
# thousands of lines a campaign, and the Bot API's URLs hold the bot token. Warnings only.
LOGGING["loggers"]["httpx"] = {"level": "WARNING"}
# WeasyPrint (incidents/legal/typeset.py) says each step of every document at INFO.
LOGGING["loggers"]["weasyprint"] = {"level": "WARNING"}
LOGGING["loggers"]["fontTools"] = {"level": "WARNING"}

# --- The record's signed checkpoints (issue 19; docs/legal.md, "Signing keys") -------------
# The Ed25519 private key (a PEM file: `openssl genpkey -algorithm ed25519`) that signs the log
# head every RECORD_CHECKPOINT_EVERY events and at every dossier export. Required in production,
# and read here so a missing or wrong file stops the process at start, not at the thousandth
# event: without it a rewrite of the whole chain with fresh hashes would verify as intact. Keep
# it outside the database and its backups. Local development makes one under VAR_DIR/keys/ on
# first use.
RECORD_SIGNING_KEY = env_str("RECORD_SIGNING_KEY", "") or ""
RECORD_SIGNING_KEY_GENERATE = False
if not RECORD_SIGNING_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "RECORD_SIGNING_KEY (the path of the record's Ed25519 signing key) is required "
            f"unless DJANGO_DEBUG=1; {record_key.HOW_TO_MAKE}"
        )
    RECORD_SIGNING_KEY = str(VAR_DIR / "keys" / "record-signing-dev.pem")
    RECORD_SIGNING_KEY_GENERATE = True
else:
    record_key.load_private_key(RECORD_SIGNING_KEY)
# PEM public keys of retired signing keys (comma-separated paths): old checkpoints signed with
# them still verify after a rotation.
RECORD_SIGNING_PUBLIC_KEYS = env_list("RECORD_SIGNING_PUBLIC_KEYS")
for _path in RECORD_SIGNING_PUBLIC_KEYS:
    record_key.load_public_key(_path)
# A signed checkpoint every this many events (made in the append that reaches a multiple).
RECORD_CHECKPOINT_EVERY = env_int("RECORD_CHECKPOINT_EVERY", 1000, minimum=1)
# An RFC 3161 time-stamping authority (https://...); empty: checkpoints are not time-stamped.
RECORD_TSA_URL = env_str("RECORD_TSA_URL", "") or ""
if RECORD_TSA_URL and not RECORD_TSA_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"RECORD_TSA_URL must be an http(s) URL, got {RECORD_TSA_URL!r}")
# The authority's root certificate(s), PEM: every answer is checked against them before it is
# kept, and verify_record checks the kept ones. Required with RECORD_TSA_URL.
RECORD_TSA_CA_FILE = env_str("RECORD_TSA_CA_FILE", "") or ""
if RECORD_TSA_URL and not RECORD_TSA_CA_FILE:
    raise ImproperlyConfigured("RECORD_TSA_CA_FILE is required with RECORD_TSA_URL.")
RECORD_TSA_TIMEOUT_SECONDS = env_float("RECORD_TSA_TIMEOUT_SECONDS", 10.0, minimum=0.1)
