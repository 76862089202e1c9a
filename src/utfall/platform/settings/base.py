"""Settings shared by every environment.

Everything that differs between machines comes from the environment:

``DATABASE_URL``                 default ``sqlite:///<var>/utfall.sqlite3``
``UTFALL_VAR_DIR``               where the SQLite file, uploads and caches live (default ``./var``)
``UTFALL_PSEUDONYM_KEY_FILE``    the pseudonym key file (default ``<var>/pseudonym.key``)
``UTFALL_SIGNING_KEY_SECRET``    the secret that encrypts evaluators' signing keys, or
``UTFALL_SIGNING_KEY_SECRET_FILE`` the file holding it (default ``<var>/signing-key.secret``)
``UTFALL_IMPORT_MAX_BYTES``      the largest data file accepted (default 40 MiB)
``UTFALL_IMPORT_BACKGROUND_ROWS`` imports with more rows run as a background task (default 5000)
``UTFALL_IMPORT_KEEP_HOURS``     how long an uploaded file waiting for its commit is kept (default 24)
``UTFALL_IMPORT_STALE_SECONDS``  a running import on another host silent this long is interrupted
                                 (default 1800)
``UTFALL_LOG_ORIGIN``            the transparency log's checkpoint origin line and key name
                                 (default ``utfall.local/ledger``)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PLATFORM_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("UTFALL_VAR_DIR", Path.cwd() / "var")).resolve()

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

# The database backend of django-tasks ships as its own package (django-tasks-db) since
# django-tasks 0.12; without it, tasks run in the request (see docs/platform.md).
HAVE_TASKS_DB = importlib.util.find_spec("django_tasks_db") is not None

INSTALLED_APPS = [
    # The admin behind allauth login + TOTP (decision 0600): admin.site is PlatformAdminSite.
    "utfall.platform.organisations.apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "ninja",
    "django_tasks",
    *(["django_tasks_db"] if HAVE_TASKS_DB else []),
    "utfall.platform.organisations",
    "utfall.platform.contracts",
    "utfall.platform.participants",
    "utfall.platform.imports",
    "utfall.platform.audit",
    "utfall.platform.settlements",
    "utfall.platform.knowledge",
    "utfall.platform.fund",
    "utfall.platform.council",
    "utfall.platform.design",
    "utfall.platform.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "utfall.platform.organisations.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "utfall.platform.web.middleware.ContentSecurityPolicyMiddleware",
]

# Every environment sends the same policy: no inline script, no eval, nothing from other
# origins (docs/decisions/0640-content-security-policy-middleware.md). TOTP set-up shows
# its QR code as a data: image.
UTFALL_CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

ROOT_URLCONF = "utfall.platform.urls"
WSGI_APPLICATION = "utfall.platform.wsgi.application"
# A refused form (expired CSRF token) gets the platform's 403 page, not Django's English one.
CSRF_FAILURE_VIEW = "utfall.platform.web.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'utfall.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while a background import writes; IMMEDIATE avoids the
    # lock-upgrade deadlock of SQLite's default deferred transactions.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: accounts are created by administrators, never by sign-up.
ACCOUNT_ADAPTER = "utfall.platform.organisations.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_REDIRECT_URL = "web:home"
LOGIN_URL = "account_login"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "utfall"
# One 30-second step either side (RFC 6238 5.2: network and typing delay); a code is still
# spent once (decision 0603), so the wider window gives no second use.
MFA_TOTP_TOLERANCE = 1
# Users get no e-mail verification mail (there is no mail server in a default setup);
# two-factor must not depend on it.
MFA_ALLOW_UNVERIFIED_EMAIL = True

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [PLATFORM_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PLATFORM_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

CACHES = {
    # Import progress is written here from inside the import's transaction, so it
    # must not live in the database; a file cache is shared by the web and worker
    # processes of one host.
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if HAVE_TASKS_DB
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
    }
}

FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

UTFALL_PSEUDONYM_KEY_FILE = Path(
    os.environ.get("UTFALL_PSEUDONYM_KEY_FILE", VAR_DIR / "pseudonym.key")
)
# Only development may create a missing key; production refuses to start without one.
UTFALL_PSEUDONYM_KEY_CREATE_MISSING = False
# Evaluators' private keys are encrypted with a secret of their own, not SECRET_KEY
# (settlements/keys.py): the environment's value, else the file (made on first use by
# development and test settings only). _PREVIOUS is read during a rotation only.
UTFALL_SIGNING_KEY_SECRET = os.environ.get("UTFALL_SIGNING_KEY_SECRET", "")
UTFALL_SIGNING_KEY_SECRET_PREVIOUS = os.environ.get("UTFALL_SIGNING_KEY_SECRET_PREVIOUS", "")
UTFALL_SIGNING_KEY_SECRET_FILE = Path(
    os.environ.get("UTFALL_SIGNING_KEY_SECRET_FILE", VAR_DIR / "signing-key.secret")
)
UTFALL_SIGNING_KEY_SECRET_CREATE_MISSING = False
UTFALL_IMPORT_MAX_BYTES = int(os.environ.get("UTFALL_IMPORT_MAX_BYTES", 40 * 1024 * 1024))
UTFALL_IMPORT_BACKGROUND_ROWS = int(os.environ.get("UTFALL_IMPORT_BACKGROUND_ROWS", "5000"))
UTFALL_IMPORT_BATCH_SIZE = 5000
UTFALL_IMPORT_KEEP_HOURS = float(os.environ.get("UTFALL_IMPORT_KEEP_HOURS", "24"))
UTFALL_IMPORT_STALE_SECONDS = int(os.environ.get("UTFALL_IMPORT_STALE_SECONDS", "1800"))
UTFALL_LOG_ORIGIN = os.environ.get("UTFALL_LOG_ORIGIN", "utfall.local/ledger")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
