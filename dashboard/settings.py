"""Django settings, read from the environment (see .env.example for every variable)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from dashboard.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of a checkout (SQLite files); created by manage.py, not at import.
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
# Old keys, newest first, after a rotation: sessions and callback-key fingerprints made with
# them stay valid (fingerprints are re-made with the new key at the next refresh).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-never-used-in-production-" + "x" * 20  # noqa: S105
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# a refused form says why and loses nothing (its token renewed for the next try)
CSRF_FAILURE_VIEW = "dashboard.accounts.views.csrf_failure"
# Behind a load balancer: the header that carries the client's address (e.g.
# X-Forwarded-For) and how many trusted proxies append to it. Unset: REMOTE_ADDR.
TRUSTED_PROXY_HEADER = env_str("TRUSTED_PROXY_HEADER")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)

INSTALLED_APPS = [
    "dashboard.adminsite.SuperuserAdminConfig",  # django.contrib.admin, superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_filters",
    "django_htmx",
    "django_tasks_db",
    "dashboard.sandbox",
    "dashboard.accounts",
    "dashboard.domains",
    "dashboard.audit",
    "dashboard.records",
    "dashboard.receivers",
    "dashboard.archive",
    "dashboard.incidents",
    "dashboard.alerts",
    "dashboard.redelivery",
    "dashboard.configs",
    "dashboard.api",
    "dashboard.ops",
]

MIDDLEWARE = [
    # /healthz and /readyz: before the host check, the HTTPS redirect and sign-in (probes)
    "dashboard.ops.health.HealthMiddleware",
    "dashboard.logs.RequestIdMiddleware",  # the request id on every log line and the response
    "dashboard.ops.metrics.MetricsMiddleware",  # requests by view, for /metrics
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.accounts.middleware.HtmxSignInRedirectMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dashboard.accounts.security.SessionIdleTimeoutMiddleware",
    "dashboard.accounts.middleware.PrivatePagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.accounts.middleware.UserTimezoneMiddleware",
    "dashboard.accounts.middleware.RoleRequiredMiddleware",
    "dashboard.accounts.middleware.NulInAddressMiddleware",  # its check runs after sign-in's
    "dashboard.ops.replica.ReplicaReadsMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.accounts.context_processors.role",
                "dashboard.domains.context_processors.upstream",
            ],
        },
    },
]

FORM_RENDERER = "dashboard.forms.FormRenderer"

# Databases: the dashboard's own, and the sandbox's, which never share a transaction.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'dashboard.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    ),
    # (kept open between requests: `runsandbox` answers a keep-alive connection's requests on
    # one thread, which closes its database connection when the client's connection ends)
    "sandbox": dj_database_url.parse(
        env_str("SANDBOX_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    ),
}
for _alias in DATABASES.values():
    if _alias["ENGINE"] == "django.db.backends.sqlite3":
        # Concurrent readers with one writer; wait instead of failing on a locked database.
        _alias.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
            }
        )
# Optional: a PostgreSQL streaming replica for the archive's reads on pages (dashboard/ops/
# replica.py). Tests mirror it onto the primary.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **dj_database_url.parse(
            env_str("DATABASE_REPLICA_URL"),
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        ),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = [
    "dashboard.sandbox.routers.SandboxRouter",
    "dashboard.ops.replica.ReplicaRouter",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The rollups' covering indexes (Meta) have non-key columns PostgreSQL uses; SQLite keys them
# on their fields alone, which is all a development database needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # The rate limiter keeps one key per time slot: allow plenty before culling.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Permissions come with roles (groups Viewer / Editor / Lead), in one query a request.
AUTHENTICATION_BACKENDS = ["dashboard.accounts.backends.RoleBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Absolute session lifetime (from sign-in) and idle timeout.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
# Sign-in throttling: failures per (user name, address) before a cool-off (seconds).
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_COOL_OFF = env_int("LOGIN_COOL_OFF", 15 * 60, minimum=1)
# Single sign-on (OpenID Connect), on when OIDC_ISSUER is set. Roles and teams come from the
# directory's groups (the OIDC_GROUPS_CLAIM claim) through the mapping leads keep on the People
# page, applied at every sign-in. LOCAL_LOGIN=false turns user-name/password sign-in off
# (the dashboard's and the admin's).
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET")
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid profile email groups")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups") or "groups"
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your company account")
# Signing out here also ends the session at the provider (OpenID Connect RP-Initiated Logout),
# when its discovery document names an end_session_endpoint: off by default, as that signs the
# person out of every application of the company's single sign-on.
OIDC_END_SESSION = env_bool("OIDC_END_SESSION", False)
LOCAL_LOGIN = env_bool("LOCAL_LOGIN", True)
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are needed"
    )
if not LOCAL_LOGIN and not OIDC_ISSUER:
    raise ImproperlyConfigured("LOCAL_LOGIN=false needs OIDC_ISSUER: nobody could sign in")
SESSION_ENGINE = "dashboard.accounts.sessions"  # database sessions that know their user
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In DEBUG, WhiteNoise serves straight from the apps' and project's static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Content-Security-Policy: no inline script or style, no eval (htmx is configured for it).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- The Live API upstream -------------------------------------------------------------
# With LIVE_API_ENDPOINT unset, the dashboard talks to the embedded sandbox in-process.
LIVE_API_ENDPOINT = env_str("LIVE_API_ENDPOINT")
LIVE_SANDBOX_ACCESS_KEY_ID = env_str("LIVE_SANDBOX_ACCESS_KEY_ID", "sandbox")
LIVE_SANDBOX_ACCESS_KEY_SECRET = env_secret("LIVE_SANDBOX_ACCESS_KEY_SECRET", "sandbox-secret")
ALIBABA_CLOUD_ACCESS_KEY_ID = env_str("ALIBABA_CLOUD_ACCESS_KEY_ID") or (
    "" if LIVE_API_ENDPOINT else LIVE_SANDBOX_ACCESS_KEY_ID
)
ALIBABA_CLOUD_ACCESS_KEY_SECRET = env_secret("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or (
    "" if LIVE_API_ENDPOINT else LIVE_SANDBOX_ACCESS_KEY_SECRET
)
if LIVE_API_ENDPOINT and not (ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET):
    raise ImproperlyConfigured(
        "LIVE_API_ENDPOINT is set: ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET must be set too."
    )
LIVE_REGION_ID = env_str("LIVE_REGION_ID", "cn-shanghai") or "cn-shanghai"
LIVE_API_TIMEOUT = env_float("LIVE_API_TIMEOUT", 10.0, minimum=0.1)
LIVE_API_RATE_FRACTION = env_float("LIVE_API_RATE_FRACTION", 0.9, minimum=0.01)
# Share of the records query's budget the archive's harvester may use; pages keep the rest.
LIVE_API_HARVEST_SHARE = env_float("LIVE_API_HARVEST_SHARE", 0.6, minimum=0.05)
if LIVE_API_HARVEST_SHARE >= 1:
    raise ImproperlyConfigured("LIVE_API_HARVEST_SHARE must be below 1 (pages need a share too).")
# Consecutive upstream failures (5xx, no answer) before calls pause for 15 s.
LIVE_API_BREAKER_THRESHOLD = env_int("LIVE_API_BREAKER_THRESHOLD", 8, minimum=0)

# --- The callback archive ---------------------------------------------------------------
ARCHIVE_RETENTION_DAYS = env_int("ARCHIVE_RETENTION_DAYS", 90, minimum=8)
# Seconds between two windows of one domain, the overlap each window re-reads before its
# start (records can appear late), and how long a harvester's lease on a window lasts
# without renewal (it is renewed before every write and 4 times a lease).
ARCHIVE_HARVEST_INTERVAL = env_int("ARCHIVE_HARVEST_INTERVAL", 30, minimum=1)
ARCHIVE_HARVEST_OVERLAP = env_int("ARCHIVE_HARVEST_OVERLAP", 900, minimum=0)
ARCHIVE_HARVEST_LEASE = env_int("ARCHIVE_HARVEST_LEASE", 120, minimum=10)
# Windows harvested at once by one harvester, each on its own thread (PostgreSQL; SQLite
# takes one at a time), within the harvest's share of the rate budget. A worker spends most of
# a page waiting (its slot in the budget, the upstream, PostgreSQL, the interpreter's lock):
# 8 keep the harvest lane fuller than 4 (benchmarks/archive.py backfill, README).
ARCHIVE_HARVEST_WORKERS = env_int("ARCHIVE_HARVEST_WORKERS", 8, minimum=1)
# Records stored per transaction (each with its rollups and names).
ARCHIVE_STORE_BATCH = env_int("ARCHIVE_STORE_BATCH", 5000, minimum=1)

# An incident resolves on its own after this many deliveries in a row to its receiver.
INCIDENT_RESOLVE_AFTER = env_int("INCIDENT_RESOLVE_AFTER", 20, minimum=1)

# --- Alerts ----------------------------------------------------------------------------
# Links in alert messages point here (the address people open the dashboard at). Unset: the
# address a rule was last saved or tested from (`make run` sets it from ADDR).
DASHBOARD_URL = env_str("DASHBOARD_URL")
ALERT_EMAIL_FROM = env_str("ALERT_EMAIL_FROM", "live-dashboard@localhost") or (
    "live-dashboard@localhost"
)
ALERT_EVALUATE_EVERY = env_int("ALERT_EVALUATE_EVERY", 60, minimum=1)  # seconds
ALERT_WEBHOOK_TIMEOUT = env_float("ALERT_WEBHOOK_TIMEOUT", 5.0, minimum=0.5)
_EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# How long an alert sender holds a notification while it tries it: longer than the slowest
# send (webhook or SMTP deadline), or a second alert loop could send it too.
ALERT_CLAIM_SECONDS = env_int(
    "ALERT_CLAIM_SECONDS",
    120,
    minimum=int(max(ALERT_WEBHOOK_TIMEOUT, _EMAIL_TIMEOUT)) + 2,
)
# Alert emails go through SMTP (EMAIL_HOST, default localhost:25); with DEBUG on and no
# EMAIL_HOST they are printed by the alert loop instead (the demo).
_EMAIL_HOST = env_str("EMAIL_HOST")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _EMAIL_HOST or "localhost",
                "port": env_int("EMAIL_PORT", 25, minimum=1),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_secret("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
                "use_ssl": env_bool("EMAIL_USE_SSL", False),
                "timeout": _EMAIL_TIMEOUT,
            },
        }
        if _EMAIL_HOST or not DEBUG
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}

# --- Bounds on what one request may cost ---------------------------------------------------
# Seconds of SQL a search may take before it stops with a message, and how many searches that
# read records (free text, …) run at once for everyone (two per person).
SEARCH_TIMEOUT = env_float("SEARCH_TIMEOUT", 5.0, minimum=0.5)
SEARCH_CONCURRENCY = env_int("SEARCH_CONCURRENCY", 4, minimum=1)
# Exports up to this many rows download at once; bigger ones are made by the task worker into
# a file (EXPORT_DIR, kept EXPORT_KEEP_HOURS), at most EXPORTS_PER_USER unfinished per person.
EXPORT_DIRECT_ROWS = env_int("EXPORT_DIRECT_ROWS", 5000, minimum=0)
EXPORT_DIR = Path(env_str("EXPORT_DIR") or VAR_DIR / "exports")
EXPORT_KEEP_HOURS = env_int("EXPORT_KEEP_HOURS", 24, minimum=1)
EXPORTS_PER_USER = env_int("EXPORTS_PER_USER", 2, minimum=1)
# Exports are background work: this many written at once (every worker together), each at
# most this many rows a second, so the pages people read meanwhile come first.
EXPORT_WRITERS = env_int("EXPORT_WRITERS", 1, minimum=1)
EXPORT_ROWS_PER_SECOND = env_int("EXPORT_ROWS_PER_SECOND", 20_000, minimum=100)

# --- Redelivery ------------------------------------------------------------------------
# Resent callbacks per second per domain (shared by every process when Redis is the cache).
REDELIVERY_RATE_PER_SECOND = env_float("REDELIVERY_RATE_PER_SECOND", 5.0, minimum=0.1)
# A run is worked on in slices this long, each a task of its own: a long run never holds the
# task worker for hours ("Sync all" and other runs get their turn in between).
REDELIVERY_SLICE_SECONDS = env_int("REDELIVERY_SLICE_SECONDS", 20, minimum=1)

# --- Callback URLs and the safe sender ---------------------------------------------------
CALLBACK_TEST_TIMEOUT = 5.0  # Live's own timeout
CALLBACK_TEST_PER_MINUTE = env_int("CALLBACK_TEST_PER_MINUTE", 10, minimum=1)
# Resolve callback URL host names in the forms too (every address must be public).
CALLBACK_URL_RESOLVE = env_bool("CALLBACK_URL_RESOLVE", False)
# Host name -> "address:port" the sender connects to instead of resolving the name, and for
# https URLs the address to use instead and the certificate authority (PEM) it trusts for
# those hosts only. Set from code only, never from the environment: by the sandbox app for
# the demo receiver of `make run` (DEMO_RECEIVER, with the sandbox upstream and DEBUG on),
# and by the test suite for its receivers on 127.0.0.1.
CALLBACK_PINNED_HOSTS: dict[str, str] = {}
CALLBACK_PINNED_TLS_HOSTS: dict[str, str] = {}
CALLBACK_PINNED_CA = ""
DEMO_RECEIVER = DEBUG and not LIVE_API_ENDPOINT
DEMO_RECEIVER_ADDR = env_str("DEMO_RECEIVER_ADDR", "127.0.0.1:8001") or "127.0.0.1:8001"
DEMO_RECEIVER_TLS_ADDR = env_str("DEMO_RECEIVER_TLS_ADDR", "127.0.0.1:8444") or "127.0.0.1:8444"
DEMO_TLS_DIR = VAR_DIR / "demo-tls"

# --- The sandbox ---------------------------------------------------------------------
LIVE_SANDBOX = {
    "THROTTLE": env_bool("LIVE_SANDBOX_THROTTLE", True),
    "RESOLVE_HOSTNAMES": env_bool("LIVE_SANDBOX_RESOLVE_HOSTNAMES", False),
    "FAULTS": env_str("LIVE_SANDBOX_FAULTS"),
    "BIG_DOMAIN_RECORDS": env_int("LIVE_SANDBOX_BIG_DOMAIN_RECORDS", 200_000, minimum=0),
    "RATE_SCALE": env_float("LIVE_SANDBOX_RATE_SCALE", 1.0, minimum=0.0),
}

# Plain text lines (the default, `make run`), or one JSON object per line (LOG_FORMAT=json):
# time, level, logger, message, request id, user id, path; status and duration on the
# access lines (logger dashboard.request, JSON only).
# GET /metrics (Prometheus) with "Authorization: Bearer <METRICS_TOKEN>"; unset: no /metrics.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "dashboard.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    "filters": {
        "no_client_errors": {"()": "dashboard.logs.NoClientErrorTracebacks"},
        "context": {"()": "dashboard.logs.ContextFilter"},
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # A refused request (403, 404) is one line from the server, not a second one with a
        # traceback from Django.
        "django.request": {"filters": ["no_client_errors"]},
    },
}
