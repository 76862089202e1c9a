"""Production settings: every secret comes from the environment, HTTPS everywhere.

Required: ``DJANGO_SECRET_KEY`` (50+ random characters), ``DJANGO_ALLOWED_HOSTS``,
``UTFALL_PSEUDONYM_KEY_FILE`` (an existing key file), ``UTFALL_SIGNING_KEY_SECRET`` or
``UTFALL_SIGNING_KEY_SECRET_FILE`` (an existing secret file) and usually ``DATABASE_URL``.
``manage.py check --deploy`` passes without warnings when these are set
(tests/platform/test_deploy_check.py).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to at least 50 random characters in production "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host(s) the site is served on.")
if "UTFALL_PSEUDONYM_KEY_FILE" not in os.environ:
    raise ImproperlyConfigured(
        "UTFALL_PSEUDONYM_KEY_FILE must point to the pseudonym key file in production; "
        "create one with: python -m utfall.platform.manage pseudonym_key create PATH"
    )

if not (
    os.environ.get("UTFALL_SIGNING_KEY_SECRET") or os.environ.get("UTFALL_SIGNING_KEY_SECRET_FILE")
):
    raise ImproperlyConfigured(
        "UTFALL_SIGNING_KEY_SECRET (32+ random characters) or UTFALL_SIGNING_KEY_SECRET_FILE "
        "must be set in production: it encrypts the evaluators' signing keys. Create a file "
        "with: python -m utfall.platform.manage rotate_signing_key_secret --create PATH"
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "true").lower() == "true"
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS]  # noqa: F405
