"""Settings for the test suite: fast hashing, tasks run in-process, a throw-away key."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "utfall-tests-only-not-secret"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
_TMP = Path(tempfile.mkdtemp(prefix="utfall-test-"))
# One per process (each xdist worker, each child run); gone when the process ends.
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
MEDIA_ROOT = _TMP / "media"
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir()
UTFALL_PSEUDONYM_KEY_FILE = Path(
    os.environ.get("UTFALL_TEST_PSEUDONYM_KEY_FILE", _TMP / "pseudonym.key")
)
UTFALL_PSEUDONYM_KEY_CREATE_MISSING = True
UTFALL_SIGNING_KEY_SECRET = ""
UTFALL_SIGNING_KEY_SECRET_PREVIOUS = ""
UTFALL_SIGNING_KEY_SECRET_FILE = _TMP / "signing-key.secret"
UTFALL_SIGNING_KEY_SECRET_CREATE_MISSING = True
# Small numbers so the tests exercise batching and the background path cheaply.
UTFALL_IMPORT_BATCH_SIZE = 500
UTFALL_IMPORT_BACKGROUND_ROWS = 1000
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Parallel runs against one PostgreSQL server each need their own test database.
if os.environ.get("UTFALL_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["UTFALL_TEST_DATABASE_NAME"]}  # noqa: F405
