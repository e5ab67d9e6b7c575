"""Volano's one settings module: everything that differs between installs comes from the environment.

VOLANO_DATA_DIR   folder for the SQLite database, the secret key, uploads and the mail outbox
                  (default: ./volano-data)
DATABASE_URL      e.g. postgres://user@127.0.0.1:5432/volano (default: SQLite in the data folder)
VOLANO_SECRET_KEY secret key (default: generated once and kept in the data folder)
VOLANO_ALLOWED_HOSTS  comma-separated (default: 127.0.0.1,localhost)
VOLANO_SMTP_URL   smtp://user:pass@host:587?tls=1&rate=20&hourly=5000 (rate: messages per second,
                  hourly: per rolling hour, connections: SMTP connections per worker for
                  marketing mail, default 2; default: mail is written to the outbox folder)
VOLANO_REDIS_URL  redis://127.0.0.1:6379/0 to share rate limits and cache between processes
VOLANO_BROKER_URL amqp://guest:guest@127.0.0.1:5672// (or redis://…/1): background work on Celery
                  workers (`volano worker`) instead of the embedded database worker
VOLANO_DEBUG      1 to turn Django's debug mode on

HTTPS (see "HTTPS settings" below; all off by default, for `volano serve` on plain http):
VOLANO_HTTPS      1 when users reach Volano over https: secure session and CSRF cookies, http
                  redirected to https, HSTS for a year
VOLANO_HSTS_SECONDS  HSTS max-age (default 31536000 with VOLANO_HTTPS; 0 turns HSTS off)
VOLANO_HSTS_INCLUDE_SUBDOMAINS  1 to extend HSTS to every subdomain (only if they all speak https)
VOLANO_HSTS_PRELOAD  1 to ask browsers' preload lists for the domain (hard to undo)
VOLANO_SSL_REDIRECT  0 to leave the http-to-https redirect to the proxy (default 1 with HTTPS)
VOLANO_PROXY_SSL_HEADER  1 behind a TLS proxy that sets X-Forwarded-Proto: https (and strips it
                  from clients): only then does Django trust that header
VOLANO_CLIENT_IP_HEADER  behind a proxy, the header it overwrites with the client's address
                  (e.g. X-Real-IP): sign-in attempts are counted per that address
"""

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent


def _env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("VOLANO_DATA_DIR", "volano-data")).resolve()
DEBUG = _env_flag("VOLANO_DEBUG")


def _secret_key() -> str:
    if key := os.environ.get("VOLANO_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("VOLANO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("VOLANO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "anymail",
    "volano.core",
    "volano.contacts",
    "volano.events",
    "volano.orders",
    "volano.imports",
    "volano.conditions",
    "volano.segments",
    "volano.deals",
    "volano.scoring",
    "volano.lifecycle",
    "volano.handoff",
    "volano.campaigns",
    "volano.notifications",
    "volano.emails",
    "volano.surveys",
    "volano.workflows",
    "volano.attribution",
    "volano.goals",
    "volano.budgets",
    "volano.reports",
    "volano.maturity",
    "volano.jobs",
    "volano.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "volano.core.middleware.WorkspaceMiddleware",
    "volano.core.view_errors.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "volano.urls"
WSGI_APPLICATION = "volano.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "volano.core.context_processors.workspace",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'volano.sqlite3'}",
        conn_max_age=0 if DEBUG else 60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids
    # "database is locked" upgrades in the middle of a transaction. A checkpoint every 10,000
    # WAL pages (~40 MB) rather than SQLite's 1,000: a batch of 1,000 events dirties about
    # 1,000 index pages, so the default checkpointed (and synced) after nearly every commit;
    # by hand that wrote 17,000 events/s instead of 14,000 (docs/benchmarks.md, 2026-12-08).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA busy_timeout=30000; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
        " PRAGMA wal_autocheckpoint=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DEBUG else 600
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles each large query before running it: on segment counts over 1M
    # contacts that cost more than it saved (bench/conditions.py: 2.17 s with JIT, 1.82 s without).
    # random_page_cost 1.1 (default 4, for spinning disks) is the usual setting for SSDs and for
    # data in memory: with 4 the planner read the whole event table to find one month of page
    # views (3.5 s) rather than that month through the index (2.0 s). VOLANO_PG_OPTIONS overrides.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get(
        "VOLANO_PG_OPTIONS", "-c jit=off -c random_page_cost=1.1"
    )
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("VOLANO_TEST_DATABASE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Long dates "3 settembre 2026" (volano/core/formats); the rest is Django's per-language formats.
FORMAT_MODULE_PATH = ["volano.core.formats"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "uploads"
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
VOLANO_IMPORT_MAX_BYTES = int(os.environ.get("VOLANO_IMPORT_MAX_BYTES", 200 * 1024 * 1024))
# What one import file may hold (docs/import.md, "Limits"): a cell as long as Excel allows, as
# many columns as the mapping page can show, and for a workbook its uncompressed parts and
# shared strings, so a small hostile file cannot fill the worker's memory.
VOLANO_IMPORT_MAX_CELL_CHARS = int(os.environ.get("VOLANO_IMPORT_MAX_CELL_CHARS", 32_767))
VOLANO_IMPORT_MAX_COLUMNS = int(os.environ.get("VOLANO_IMPORT_MAX_COLUMNS", 2_000))
VOLANO_IMPORT_MAX_ROWS = int(os.environ.get("VOLANO_IMPORT_MAX_ROWS", 2_000_000))
VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES", 2 * 1024 * 1024 * 1024)
)
VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES = int(
    os.environ.get("VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES", 256 * 1024 * 1024)
)

# The sending policy a workspace starts with (volano/emails/policy.py): field overrides for a new
# workspace's EmailPolicy ({} = the model's defaults: at most 3 marketing emails per contact in 7
# days, quiet 21:00-08:00). The tests' conftest turns both off so that no test of another domain
# depends on the time of day it runs at; the policy's own tests turn them on.
VOLANO_EMAIL_POLICY_DEFAULTS: dict = {}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

# --- HTTPS settings (issue 10, authentication) -------------------------------------------------
# One switch for an install served over https, so `check --deploy` is clean with the production
# settings the README documents; HSTS for subdomains and preload stay opt-in because they bind
# other hosts of the domain and are slow to undo.
VOLANO_HTTPS = _env_flag("VOLANO_HTTPS")
if VOLANO_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_flag("VOLANO_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("VOLANO_HSTS_SECONDS", 365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("VOLANO_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = _env_flag("VOLANO_HSTS_PRELOAD")
if _env_flag("VOLANO_PROXY_SSL_HEADER"):
    # Trusted only when asked: a client reaching Django directly could otherwise claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The header a proxy overwrites with the client's address (e.g. X-Real-IP), for the sign-in and
# password-reset counts per address; unset, REMOTE_ADDR is used (core/throttle.py).
VOLANO_CLIENT_IP_HEADER = (
    "HTTP_" + os.environ["VOLANO_CLIENT_IP_HEADER"].strip().upper().replace("-", "_")
    if os.environ.get("VOLANO_CLIENT_IP_HEADER", "").strip()
    else ""
)
# --- end of HTTPS settings ---------------------------------------------------------------------

if redis_url := os.environ.get("VOLANO_REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The address of this Volano as users reach it: links in emails (the hand-off to a rep) use it.
VOLANO_BASE_URL = os.environ.get("VOLANO_BASE_URL", "http://127.0.0.1:8000")

# VOLANO_BROKER_URL (amqp://… RabbitMQ, redis://… Redis): background work runs on Celery workers
# (`volano worker` in that mode; docs/architecture.md, "Several machines"); the task rows stay in
# our database either way (volano/jobs/celery_backend.py). Without it, the embedded database
# worker of `volano serve` / `volano worker`.
VOLANO_BROKER_URL = os.environ.get("VOLANO_BROKER_URL", "").strip()
# prepended to the queue names on the broker: installations sharing one broker stay apart
VOLANO_BROKER_QUEUE_PREFIX = os.environ.get("VOLANO_BROKER_QUEUE_PREFIX", "").strip()
CELERY_BACKEND = "volano.jobs.celery_backend.CeleryBackend"
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "VOLANO_TASKS_BACKEND",
            CELERY_BACKEND if VOLANO_BROKER_URL else "django_tasks_db.DatabaseBackend",
        ),
        # "default": work a user waits for (scores after an event, the hand-off);
        # "transactional": mail one person waits for (hand-off alerts, notifications, a test
        # send, a double opt-in confirmation), never held behind a bulk send; "email": marketing
        # sends (broadcasts, workflows); "bulk": long jobs (imports, full recomputes). Each has a
        # worker of its own in `volano serve`, so none holds up another.
        "QUEUES": ["default", "transactional", "email", "bulk"],
    }
}


# An email provider through django-anymail (docs/emails.md, "Providers and their webhooks"):
# VOLANO_ANYMAIL_ESP names it (postmark, mailgun, sendgrid, brevo, …: a module of
# anymail.backends), VOLANO_ANYMAIL_API_KEY is its key (Postmark's server token),
# VOLANO_ANYMAIL_OPTIONS a JSON object of the backend's other options (e.g. Mailgun's
# {"sender_domain": "mg.example.it"}); VOLANO_ANYMAIL_WEBHOOK_SECRET ("user:password") guards
# its tracking webhooks at /anymail/<esp>/tracking/.
ANYMAIL_KEY_OPTION = {"postmark": "server_token", "amazon_ses": ""}


def anymail_mailer_from_env() -> dict | None:
    esp = os.environ.get("VOLANO_ANYMAIL_ESP", "").strip().lower()
    if not esp:
        return None
    if not re.fullmatch(r"[a-z_]+", esp):
        raise ImproperlyConfigured(f"VOLANO_ANYMAIL_ESP={esp!r} is not an anymail backend name")
    options = json.loads(os.environ.get("VOLANO_ANYMAIL_OPTIONS") or "{}")
    if not isinstance(options, dict):
        raise ImproperlyConfigured("VOLANO_ANYMAIL_OPTIONS must be a JSON object")
    key_option = ANYMAIL_KEY_OPTION.get(esp, "api_key")
    if key_option and (key := os.environ.get("VOLANO_ANYMAIL_API_KEY")):
        options.setdefault(key_option, key)
    return {"BACKEND": f"anymail.backends.{esp}.EmailBackend", "OPTIONS": options}


ANYMAIL = {"WEBHOOK_SECRET": os.environ.get("VOLANO_ANYMAIL_WEBHOOK_SECRET", "")}

# Double opt-in (docs/emails.md): how long a confirmation link works, and how long a contact
# waits before re-submitting a form sends another confirmation email.
VOLANO_OPTIN_LINK_DAYS = float(os.environ.get("VOLANO_OPTIN_LINK_DAYS", "7"))
VOLANO_OPTIN_RESEND_MINUTES = float(os.environ.get("VOLANO_OPTIN_RESEND_MINUTES", "10"))


def mailers_from_env() -> dict:
    if provider := anymail_mailer_from_env():
        return {"default": provider}
    url = os.environ.get("VOLANO_SMTP_URL")
    if not url:
        return {
            "default": {
                "BACKEND": "volano.core.mail.OutboxBackend",
                "OPTIONS": {"directory": str(DATA_DIR / "outbox")},
            }
        }
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parts.hostname or "localhost",
                "port": parts.port or (465 if parts.scheme == "smtps" else 25),
                "username": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "use_tls": query.get("tls", "0") in {"1", "true"},
                "use_ssl": parts.scheme == "smtps",
                "timeout": 30,
            },
            # ?rate=20&hourly=5000: messages per second (per worker) and per rolling hour;
            # ?connections=N: SMTP connections of a worker's marketing send, 0 the default (2)
            # (volano/emails/sending/transport.py)
            "RATE_LIMIT": {
                "per_second": float(query.get("rate", "0") or 0),
                "per_hour": int(query.get("hourly", "0") or 0),
            },
            "CONNECTIONS": int(query.get("connections", "0") or 0),
        }
    }


MAILERS = mailers_from_env()
DEFAULT_FROM_EMAIL = os.environ.get("VOLANO_FROM_EMAIL", "Volano <volano@localhost>")

# Warnings and errors by default: the level is on the handler too, because the tasks worker
# (django-tasks-db's db_worker) sets its own loggers to INFO and would print two lines per task
# run ("Task id=… state=RUNNING/SUCCESSFUL"); a failed task is logged at ERROR and still shows.
# VOLANO_LOG_LEVEL=INFO (or `volano worker -v 2`) shows every task again.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "level": os.environ.get("VOLANO_LOG_LEVEL", "WARNING"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("VOLANO_LOG_LEVEL", "WARNING")},
}

# -- Content-Security-Policy (issue 10) -----------------------------------------------------
# Scripts and styles come only from Volano's own static files: no inline <script>, <style>,
# style="…" or on…= handler anywhere in the templates (bars use classes, behaviours data-
# attributes read by static scripts), so an injected one never runs. The vendored HTMX and
# ECharts need nothing else. Django's middleware adds the header to every response it serves;
# /t/collect skips the middleware (wsgi.py), and the snippet, pixel and form replies are not
# documents a CSP applies to, so the customer sites they run on are unaffected.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
