"""Development and demo settings: a local key file created on first use.

``make demo`` runs with these. DEBUG is off unless ``UTFALL_DEBUG=1``: a tester of the demo
sees the platform's own 404, 403 and 500 pages in Swedish or English, not Django's English
debug pages (docs/decisions/0811-demo-runs-without-debug.md). WhiteNoise serves the static
files straight from the source folders, so no ``collectstatic`` is needed either way.
"""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = os.environ.get("UTFALL_DEBUG", "") == "1"
# The demo's own tools (manage totp_code) check this rather than DEBUG.
UTFALL_DEMO = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# SQLite cannot create the folder of its file; a developer should not have to.
VAR_DIR.mkdir(parents=True, exist_ok=True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "utfall-development-only-not-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# A developer's machine may get a fresh random key; it is printed loudly (see keys.py).
UTFALL_PSEUDONYM_KEY_CREATE_MISSING = True
UTFALL_SIGNING_KEY_SECRET_CREATE_MISSING = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
