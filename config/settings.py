"""Settings, read from environment variables (django-environ).

The defaults give a newcomer a working embedded set-up: SQLite and Celery's filesystem broker under
``var/``, e-mails written to files under ``var/mail``. Production is chosen by variables only
(``DATABASE_URL``, ``CELERY_BROKER_URL``, ``CACHE_URL``, ``EMAIL_URL``...), see docs/configuration.md.

What a quality lead changes without a redeploy (organisation, delays, clock, services) is not here:
it lives in the database (``reclamations.models.configuration``).
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random key kept in var/ (never a committed constant)."""
    if value := env.str("SECRET_KEY", default=""):
        return value
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _env_str(name: str, old_name: str, default: str) -> str:
    """A setting renamed when "journal" became the log's one name: the old variable is still read."""
    return env.str(name, default="") or env.str(old_name, default="") or default


def _var_file(name: str, old_name: str) -> str:
    """A file under VAR_DIR renamed likewise: an existing install keeps using the file it has."""
    old = VAR_DIR / old_name
    return str(old if old.exists() and not (VAR_DIR / name).exists() else VAR_DIR / name)


def _journal_key() -> str:
    """The key of the journal chain's links: JOURNAL_KEY, else the file JOURNAL_KEY_FILE.

    It must not live in the database: whoever can rewrite the database alone cannot recompute
    keyed links (docs/operations.md). The embedded set-up generates the file on first use, like
    SECRET_KEY's; created with mode 0600 at once (O_EXCL), so a process starting at the same moment
    reads the key the first one wrote instead of writing another.
    """
    if value := _env_str("JOURNAL_KEY", "AUDIT_CHAIN_KEY", ""):
        return value
    path = Path(_env_str("JOURNAL_KEY_FILE", "AUDIT_CHAIN_KEY_FILE", _var_file("journal_key", "audit_chain_key")))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


JOURNAL_KEY = _journal_key()
# Earlier keys, still needed to verify the links they made (rotation, docs/operations.md).
JOURNAL_KEY_FALLBACKS = env.list("JOURNAL_KEY_FALLBACKS", default=env.list("AUDIT_CHAIN_KEY_FALLBACKS", default=[]))
# One JSON line per checkpoint of the chain's head, kept outside the database (reclamations.journal_chain).
JOURNAL_CHECKPOINT_FILE = Path(_env_str("JOURNAL_CHECKPOINT_FILE", "AUDIT_CHECKPOINT_FILE",
                                        _var_file("journal-checkpoints.jsonl", "audit-checkpoints.jsonl")))
JOURNAL_CHECKPOINT_SECONDS = int(_env_str("JOURNAL_CHECKPOINT_SECONDS", "AUDIT_CHECKPOINT_SECONDS", "3600"))
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL, used in e-mails (follow-up links) sent by workers that have no request.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "bootstrap",  # Bootstrap 5's compiled CSS/JS, served from the django-bootstrap-static package
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "axes",
    # Two-factor authentication of staff: TOTP apps and single-use backup codes (reclamations.two_factor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "post_office",
    "csp",  # Content-Security-Policy header (CONTENT_SECURITY_POLICY below)
    "reclamations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Organisation.current() reads the configuration once per request, from the cache if kept there
    # (reclamations.middleware, models.configuration).
    "reclamations.middleware.ConfigurationReadOnceMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # No-store and Permissions-Policy on every page built here (static files answered above).
    "reclamations.privacy_headers.PrivacyHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sets request.user.is_verified(): whether this session passed the second sign-in step.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends staff sessions that are too old or idle, with a French message (reclamations.middleware).
    "reclamations.middleware.StaffSessionMiddleware",
    # Sends a quality lead without two-factor authentication to enrolment when it is mandatory.
    "reclamations.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns django-ratelimit's refusal into RATELIMIT_VIEW's friendly 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # AxesMiddleware must stay last: it turns a locked-out login into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "reclamations.context_processors.organisation",
                "reclamations.context_processors.unread",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections on both stores: SQLite too, or each request opens the file and sets WAL.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for the lock instead of failing, and take the
    # write lock when a transaction starts so that two writers never deadlock on an upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file, not shared-cache memory: concurrency tests need real SQLite locking. One
    # file per test process, so that two runs at once (a developer and a helper) never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Two installations sharing one Redis database never read each other's keys.
CACHES["default"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="reclamations"))
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Every page reads the cache (the configuration kept between requests): a Redis that does not
    # answer must cost a fraction of a second, not redis-py's default of seconds per call.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
         "socket_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.5)}
    )
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # The embedded set-up runs a single web process, so a per-process cache is shared enough for
    # the rate limits. Production sets CACHE_URL to Redis (docs/configuration.md).
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003"]
else:
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]  # Django's own Redis cache is atomic

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth --------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "reclamations.auth_backend.PermissionBackend",  # ModelBackend, permissions in one query
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/backoffice/connexion/"
LOGIN_REDIRECT_URL = "/backoffice/"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Locked per account *and* address (reclamations.client_ip): failures from one address never lock
# the real person out from another. Failures from many addresses slow the account down instead
# (SIGN_IN_SLOWDOWN_*, reclamations.sign_in_slowdown).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "reclamations.client_ip.client_ip"
# From this many failures on one account within AXES_COOLOFF_MINUTES, whatever the addresses, each
# sign-in to it must wait 1 s, then 2, 4… up to SIGN_IN_SLOWDOWN_MAX_SECONDS after the last failure.
SIGN_IN_SLOWDOWN_AFTER = env.int("SIGN_IN_SLOWDOWN_AFTER", default=10)
SIGN_IN_SLOWDOWN_MAX_SECONDS = env.int("SIGN_IN_SLOWDOWN_MAX_SECONDS", default=30)
AXES_RESET_ON_SUCCESS = True
# The lock lifts AXES_COOLOFF_MINUTES after it started, as the lock-out page says, even if the person
# tried again meanwhile (the lock is per account and address: waiting gives nobody more guesses).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The French page shown once locked out (it says for how long); 429 like axes' default.
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Staff sessions: at most SESSION_COOKIE_AGE seconds after signing in, and SESSION_IDLE_TIMEOUT
# seconds without a request (0: no idle limit). reclamations.middleware ends them with a message;
# Django's own expiry (the same age, counted from the last save) is the backstop.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=2 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
# Two-factor authentication (django-otp). When true, a quality lead (or superuser) without it is
# sent to enrolment on every back-office and admin page until it is set up.
OTP_REQUIRED_FOR_QUALITY_LEADS = env.bool("OTP_REQUIRED_FOR_QUALITY_LEADS", default=False)
# django-otp's admin pages never show TOTP secrets or backup codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files and private uploads ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads are private: they live outside STATIC_ROOT, no URL serves them, and they are read only
# through authorised views. MEDIA_URL is deliberately not set.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Files sent with a message or the argued answer travel as e-mail attachments up to this total;
# the rest are named in the e-mail with a link to the follow-up page (mail servers refuse big mails).
OUTGOING_ATTACHMENTS_MAX_BYTES = env.int("OUTGOING_ATTACHMENTS_MAX_BYTES", default=8 * 1024 * 1024)
# A file under attachments/ that no row names is reported (and may be deleted by the quality lead)
# once older than this: a younger one may be an upload whose transaction has not committed yet.
ORPHAN_FILES_GRACE_MINUTES = env.int("ORPHAN_FILES_GRACE_MINUTES", default=60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- E-mail: everything goes through the post_office outbox, sent by Celery --------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Réclamations <reclamations@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Default: one file per e-mail under var/mail. (A "filemail://" URL would lose the leading "/" of
# an absolute path, so the default backend is set directly.)
_email = env.email("EMAIL_URL", default="filemail://")
EMAIL_FILE_PATH = str(VAR_DIR / "mail") if not env.str("EMAIL_URL", default="") else _email.get("EMAIL_FILE_PATH", "")
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
EMAIL_BACKEND = "post_office.EmailBackend"
POST_OFFICE = {
    "BACKENDS": {"default": _email["EMAIL_BACKEND"]},
    # Our own task dispatches after commit and tolerates a down broker (reclamations.emails).
    "CELERY_ENABLED": False,
    "DEFAULT_PRIORITY": "medium",
    "MAX_RETRIES": env.int("EMAIL_MAX_RETRIES", default=5),
    "RETRY_INTERVAL": timedelta(minutes=env.int("EMAIL_RETRY_MINUTES", default=5)),
    "MESSAGE_ID_ENABLED": True,
    "LOG_LEVEL": 2,
}
# Our outbox (reclamations.outbox) sends post_office's e-mails from any number of workers: each
# e-mail is claimed for this many seconds before it is sent (keep it well above EMAIL_TIMEOUT).
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
# An e-mail due for longer than this without being sent is "stuck": shown to staff, re-queued.
OUTBOX_STUCK_MINUTES = env.int("OUTBOX_STUCK_MINUTES", default=15)
# Beat re-queues what is due but unsent (broker down at commit time, crashed worker) this often.
OUTBOX_REQUEUE_SECONDS = env.int("OUTBOX_REQUEUE_SECONDS", default=120)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
# While the SMTP server is down, an e-mail waits for it without using up EMAIL_MAX_RETRIES; the wait
# between two attempts doubles up to this, so mail flows again soon after the server is back.
OUTBOX_OUTAGE_MAX_WAIT_MINUTES = env.int("OUTBOX_OUTAGE_MAX_WAIT_MINUTES", default=30)
# After a failed publish a process stops asking the broker for this long (the e-mails wait).
OUTBOX_BROKER_RETRY_SECONDS = env.int("OUTBOX_BROKER_RETRY_SECONDS", default=10)
# The SLA sweep (reclamations.sweep): alerts, action reminders, survey reminders.
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=300)
# The monthly internal digest (communication interne): sent on this day of the month, at this
# local time, for the previous month.
DIGEST_DAY_OF_MONTH = env.int("DIGEST_DAY_OF_MONTH", default=1)
DIGEST_HOUR = env.int("DIGEST_HOUR", default=7)
DIGEST_MINUTE = env.int("DIGEST_MINUTE", default=0)
# Improvement plan: the effectiveness check proposed this many days after an action is done.
IMPROVEMENT_CHECK_DAYS = env.int("IMPROVEMENT_CHECK_DAYS", default=90)
# Evidence export jobs (the evidence pack, made by a worker): how long a worker holds a job between two
# progress reports (keep it above PDF_RENDER_SECONDS, one part's layout), how often beat hands out
# jobs nobody took, and after how long a job whose worker keeps dying is given up.
EXPORT_LEASE_SECONDS = env.int("EXPORT_LEASE_SECONDS", default=600)
EXPORT_REQUEUE_SECONDS = env.int("EXPORT_REQUEUE_SECONDS", default=120)
EXPORT_GIVE_UP_HOURS = env.int("EXPORT_GIVE_UP_HOURS", default=6)
# A made pack or register is a copy of personal data: its file is deleted this many days after it
# was made (the job stays listed); the same period can be made again.
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=30)
# WeasyPrint lays a PDF out in a child process with these bounds (reclamations/pdf/render.py).
PDF_RENDER_SECONDS = env.int("PDF_RENDER_SECONDS", default=300)
PDF_RENDER_MEMORY_MB = env.int("PDF_RENDER_MEMORY_MB", default=3072)

# --- Inbound e-mail: the organisation's mailbox becomes records and client messages -----------
# Polled by beat when set: imaps://user:password@host[:port]/FOLDER (imap:// for a server on
# loopback only; the password URL-encoded). Empty: nothing is polled (the MTA may still pipe
# messages to ``manage.py receive_email``). docs/configuration.md, docs/operations.md.
INBOUND_IMAP_URL = env.str("INBOUND_IMAP_URL", default="")
INBOUND_IMAP_POLL_SECONDS = env.int("INBOUND_IMAP_POLL_SECONDS", default=60)
# Where a message goes once its transaction has committed (created on the server if missing).
INBOUND_IMAP_DONE_FOLDER = env.str("INBOUND_IMAP_DONE_FOLDER", default="Traites")
INBOUND_IMAP_TIMEOUT_SECONDS = env.int("INBOUND_IMAP_TIMEOUT_SECONDS", default=30)
# The address clients answer to (Reply-To of our e-mails to them); empty: they answer DEFAULT_FROM_EMAIL.
INBOUND_ADDRESS = env.str("INBOUND_ADDRESS", default="")
# Larger messages and files are kept aside with the reason, never dropped.
INBOUND_MAX_MESSAGE_BYTES = env.int("INBOUND_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
INBOUND_MAX_ATTACHMENT_BYTES = env.int("INBOUND_MAX_ATTACHMENT_BYTES", default=ATTACHMENT_MAX_BYTES)
# Messages from one address within this many minutes of the record it opened join that record:
# ten e-mails in a minute give one record and one acknowledgement.
INBOUND_GROUPING_MINUTES = env.int("INBOUND_GROUPING_MINUTES", default=10)

# --- Celery ------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # A task not acknowledged within this time is delivered again (tasks are idempotent).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # Fail fast when Redis is down or unreachable: one connection attempt, short socket timeouts
    # (longer than the worker's 1 s BRPOP). Workers reconnect on their own retry loop.
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # worker remote-control messages
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
# A down broker must not hang a web request: fail fast, the record is already stored and the
# periodic re-queue sends what is pending once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# When the broker connection drops, let running tasks finish (they are redelivered later and find
# their work claimed) rather than kill them: killing a send between the SMTP server's acceptance
# and the "sent" status would send that e-mail twice. Explicit, as Celery 6 changes the default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Re-queues what the outbox holds but no worker sent (broker down at commit time, crash...).
    # A run that no worker took before the next one is due is dropped ("expires"): beat never
    # piles up copies of a periodic task while the workers are away.
    "outbox": {
        "task": "reclamations.tasks.requeue_outbox",
        "schedule": float(OUTBOX_REQUEUE_SECONDS),
        "options": {"expires": float(OUTBOX_REQUEUE_SECONDS)},
    },
    # The SLA sweep reads the stored deadlines: no countdown is ever put in the broker.
    "sla-sweep": {
        "task": "reclamations.tasks.sla_sweep",
        "schedule": float(SLA_SWEEP_SECONDS),
        "options": {"expires": float(SLA_SWEEP_SECONDS)},
    },
    # The internal digest of the previous month, to every staff member (reclamations.services.digest).
    # No "expires": a run taken late still sends it, and a period is never sent twice.
    "monthly-digest": {
        "task": "reclamations.tasks.send_monthly_digest",
        "schedule": crontab(minute=DIGEST_MINUTE, hour=DIGEST_HOUR, day_of_month=DIGEST_DAY_OF_MONTH),
    },
    # Export jobs queued while the broker was down, or left by a dead worker (reclamations.services.exports).
    "exports": {
        "task": "reclamations.tasks.requeue_exports",
        "schedule": float(EXPORT_REQUEUE_SECONDS),
        "options": {"expires": float(EXPORT_REQUEUE_SECONDS)},
    },
    # Export files older than EXPORT_KEEP_DAYS are deleted, every night; a late run still does it.
    "purge-exports": {
        "task": "reclamations.tasks.purge_exports",
        "schedule": crontab(minute=15, hour=3),
    },
    # RGPD: records closed more than PERSONAL_DATA_RETENTION_YEARS ago are anonymised, every night.
    # No "expires": a run taken late still does the work, and a record is never anonymised twice.
    "anonymise-expired": {
        "task": "reclamations.tasks.anonymise_expired",
        "schedule": crontab(minute=30, hour=3),
    },
    # The journal chain's head copied to JOURNAL_CHECKPOINT_FILE, outside the database: a truncated log
    # or a rewound head no longer matches it (reclamations.journal_chain). Late runs are dropped: the
    # next one writes the same kind of line.
    "journal-checkpoint": {
        "task": "reclamations.tasks.checkpoint_journal",
        "schedule": float(JOURNAL_CHECKPOINT_SECONDS),
        "options": {"expires": float(JOURNAL_CHECKPOINT_SECONDS)},
    },
    # Files under attachments/ that belong to no row (reclamations.services.orphan_files): counted
    # for the quality lead's dashboard, never deleted without them.
    "orphan-files": {
        "task": "reclamations.tasks.check_orphan_files",
        "schedule": crontab(minute=45, hour=3),
    },
}

if INBOUND_IMAP_URL:
    # Nothing configured, nothing polled. Each run claims the mailbox (reclamations.imap).
    CELERY_BEAT_SCHEDULE["inbound-mailbox"] = {
        "task": "reclamations.tasks.poll_inbound_mailbox",
        "schedule": float(INBOUND_IMAP_POLL_SECONDS),
        "options": {"expires": float(INBOUND_IMAP_POLL_SECONDS)},
    }

# --- Security ----------------------------------------------------------------------------------
HTTPS = env.bool("HTTPS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every response gets this policy (django-csp): no inline script or style anywhere, ours or the
# admin's (Django 5.2's admin has none), nothing loaded from another site, no framing. Pages whose
# address holds a client's secret set their own Referrer-Policy (views/public_common.py, SECURITY.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Public pages: Contact form, follow-up link, abuse limits ---------------------------------
# POSTs per client address (django-ratelimit syntax, "5/10m" = 5 per 10 minutes); over it, a 429.
CONTACT_RATE_LIMIT = env.str("CONTACT_RATE_LIMIT", default="5/10m")
LOST_LINK_RATE_LIMIT = env.str("LOST_LINK_RATE_LIMIT", default="5/10m")
FOLLOW_UP_RATE_LIMIT = env.str("FOLLOW_UP_RATE_LIMIT", default="20/10m")
SURVEY_RATE_LIMIT = env.str("SURVEY_RATE_LIMIT", default="10/10m")
RATELIMIT_VIEW = "reclamations.views.public_errors.ratelimited"
# Behind a reverse proxy every client has the proxy's REMOTE_ADDR: name the header the proxy
# sets with the real address (e.g. HTTP_X_REAL_IP), or all clients share one limit and one
# sign-in lockout. RATELIMIT_IP_META_KEY is its former name, still read.
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="") or env.str("RATELIMIT_IP_META_KEY", default="")
RATELIMIT_IP_META_KEY = "reclamations.client_ip.client_ip"
# A form sent back faster than this after it was shown is a robot's.
CONTACT_MIN_FILL_SECONDS = env.int("CONTACT_MIN_FILL_SECONDS", default=3)
CONTACT_FORM_MAX_AGE_HOURS = env.int("CONTACT_FORM_MAX_AGE_HOURS", default=24)
# Longest description, wished solution or follow-up message, in characters.
CONTACT_TEXT_MAX_CHARS = env.int("CONTACT_TEXT_MAX_CHARS", default=20_000)
# A lost follow-up link is re-sent while the record is open or closed less than this many days ago.
FOLLOW_UP_TOKEN_DAYS = env.int("FOLLOW_UP_TOKEN_DAYS", default=90)
# A further link stays valid this many days too; a record gets at most this many further links a day.
LOST_LINK_PER_RECORD_PER_DAY = env.int("LOST_LINK_PER_RECORD_PER_DAY", default=3)
# Stated on the privacy page: how long a closed record's personal data is kept.
PERSONAL_DATA_RETENTION_YEARS = env.int("PERSONAL_DATA_RETENTION_YEARS", default=3)
CSRF_FAILURE_VIEW = "reclamations.views.public_errors.csrf_failure"

# --- Forms -------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Logging: no personal data in logs; records are named by their id or reference ------------
# A filter on the one handler is the safety net for what others log: the secret part of token URLs
# (Django's "Not Found: /suivi/<token>/", runserver's request lines) and e-mail addresses are
# replaced before anything is written (reclamations/log_filters.py). runserver's and post_office's
# loggers write through it too instead of their own handlers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_personal_data": {"()": "reclamations.log_filters.RedactPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["no_personal_data"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "post_office": {"handlers": ["console"], "propagate": False},
    },
}
# Celery workers keep this configuration (and its filter) instead of replacing the root handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
