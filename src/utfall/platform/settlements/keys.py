"""Evaluators' Ed25519 signing keys, kept on the server.

The private key is stored encrypted (Fernet) with a key derived from a secret of
its own, the *signing-key secret*, never from ``SECRET_KEY``: rotating
``SECRET_KEY`` (sessions, CSRF) must not lose every evaluator's key, and a
database dump together with ``SECRET_KEY`` must still not let anyone sign.

The secret comes from ``UTFALL_SIGNING_KEY_SECRET`` (the environment) or else the
file ``UTFALL_SIGNING_KEY_SECRET_FILE`` (default ``<var>/signing-key.secret``),
which development and test settings create on first use; production refuses to
start without one (settings/production.py, the ``utfall.E002`` check).

Decryption also accepts, in this order: a pending rotation's ``<file>.next`` (a
rotation interrupted after its commit), ``UTFALL_SIGNING_KEY_SECRET_PREVIOUS`` and,
for databases made before the secret existed, the key derived from ``SECRET_KEY``.
``manage.py rotate_signing_key_secret`` re-encrypts every stored key under a new
secret in one transaction (docs/decisions/0641-signing-key-secret.md).

The public key and its fingerprint are shown to everyone (the public-keys page) so
a bundle's signer can be checked with ``utfall verify --public-key``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from utfall.core.ledger import (
    b64encode,
    key_fingerprint,
    private_key_from_pem,
    private_key_pem,
    public_key_pem,
    public_key_raw,
)
from utfall.platform.settlements.models import EvaluatorKey

__all__ = [
    "SECRET_MIN_LENGTH",
    "SigningKeysUnreadable",
    "create_secret_file",
    "evaluator_key_ensure",
    "evaluator_key_private",
    "evaluator_key_public_pem",
    "signing_key_secret",
    "signing_key_secret_file",
    "signing_key_secret_pending_file",
    "signing_keys_reencrypt",
]

SECRET_MIN_LENGTH = 32
_CONTEXT = b"utfall evaluator signing keys\0"


class SigningKeysUnreadable(ImproperlyConfigured):
    """A stored private key that no configured secret decrypts."""


def _derive(secret: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def signing_key_secret_file() -> Path:
    """The configured secret file (used when the environment gives no secret)."""
    return Path(settings.UTFALL_SIGNING_KEY_SECRET_FILE)


def signing_key_secret_pending_file() -> Path:
    """``<secret file>.next``: where a rotation keeps the new secret until it replaces the file."""
    path = signing_key_secret_file()
    return path.with_name(path.name + ".next")


def create_secret_file(path: Path) -> str:
    """Write a new random secret to ``path`` (mode 600, written then renamed) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return secret


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < SECRET_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"The signing-key secret in {path} has {len(secret)} characters; "
            f"at least {SECRET_MIN_LENGTH} are needed."
        )
    return secret


def signing_key_secret() -> str:
    """The current signing-key secret; raises ImproperlyConfigured when there is none."""
    configured = str(getattr(settings, "UTFALL_SIGNING_KEY_SECRET", "") or "")
    if configured:
        if len(configured) < SECRET_MIN_LENGTH:
            raise ImproperlyConfigured(
                f"UTFALL_SIGNING_KEY_SECRET has {len(configured)} characters; "
                f"at least {SECRET_MIN_LENGTH} are needed."
            )
        return configured
    path = signing_key_secret_file()
    if path.exists():
        return _read_secret(path)
    if not getattr(settings, "UTFALL_SIGNING_KEY_SECRET_CREATE_MISSING", False):
        raise ImproperlyConfigured(
            f"The signing-key secret file {path} does not exist "
            "(settings.UTFALL_SIGNING_KEY_SECRET_FILE / env UTFALL_SIGNING_KEY_SECRET_FILE, "
            "or set UTFALL_SIGNING_KEY_SECRET). Create it once with `python -m "
            f"utfall.platform.manage rotate_signing_key_secret --create {path}` and back it up: "
            "without it no evaluator can sign with the stored keys."
        )
    secret = create_secret_file(path)
    print(
        f"utfall: created a NEW signing-key secret at {path} (development settings only).",
        file=sys.stderr,
    )
    return secret


def _decryption_secrets() -> list[str]:
    """Every secret a stored key may still be encrypted with, the current one first."""
    found = [signing_key_secret()]
    pending = signing_key_secret_pending_file()
    if not getattr(settings, "UTFALL_SIGNING_KEY_SECRET", "") and pending.exists():
        found.append(_read_secret(pending))
    previous = str(getattr(settings, "UTFALL_SIGNING_KEY_SECRET_PREVIOUS", "") or "")
    if previous:
        found.append(previous)
    if settings.SECRET_KEY:
        found.append(settings.SECRET_KEY)  # keys stored before the secret of their own existed
    return list(dict.fromkeys(found))


def _encrypter() -> Fernet:
    return _derive(signing_key_secret())


def _decrypter() -> MultiFernet:
    return MultiFernet([_derive(secret) for secret in _decryption_secrets()])


@transaction.atomic
def evaluator_key_ensure(*, user: AbstractBaseUser) -> EvaluatorKey:
    """The user's active key, made on first use."""
    existing = (
        EvaluatorKey.objects.select_for_update()
        .filter(user=user, retired_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing
    key = Ed25519PrivateKey.generate()
    private_pem = private_key_pem(key)
    raw = public_key_raw(key)
    return EvaluatorKey.objects.create(
        user=user,
        public_key=b64encode(raw),
        fingerprint=key_fingerprint(raw),
        private_key_encrypted=_encrypter().encrypt(private_pem).decode("ascii"),
    )


def _name(key: Any) -> str:
    return str(getattr(key, "fingerprint", "") or f"{type(key).__name__} {key.name}")


def _decrypt(key: Any, decrypter: MultiFernet) -> bytes:
    try:
        return decrypter.decrypt(key.private_key_encrypted.encode("ascii"))
    except InvalidToken:
        raise SigningKeysUnreadable(
            f"the signing key {_name(key)} cannot be decrypted with the configured "
            "signing-key secret (was the secret replaced without rotate_signing_key_secret? "
            "restore the old secret as UTFALL_SIGNING_KEY_SECRET_PREVIOUS)"
        ) from None


def evaluator_key_private(key: EvaluatorKey) -> Ed25519PrivateKey:
    """The private key (decrypted in memory only, for signing)."""
    return private_key_from_pem(_decrypt(key, _decrypter()))


def evaluator_key_public_pem(key: EvaluatorKey) -> bytes:
    """The public key as PEM (``utfall verify --public-key`` reads it)."""
    return public_key_pem(base64.b64decode(key.public_key))


def _stored_keys() -> list[Any]:
    """Every model whose rows hold a private key under the signing-key secret."""
    models: list[Any] = [EvaluatorKey]
    # The transparency log's own key (settlements.LogKey) is stored the same way.
    with contextlib.suppress(LookupError):
        models.append(django_apps.get_model("settlements", "LogKey"))
    return models


@transaction.atomic
def signing_keys_reencrypt(*, new_secret: str) -> int:
    """Re-encrypt every stored private key under ``new_secret``, all or nothing.

    Covers the evaluators' keys and the transparency log's key. Each key is
    decrypted with any configured secret (current, pending, previous,
    ``SECRET_KEY``) and checked to match its stored public key before it is written
    back; one unreadable key rolls the whole rotation back. Returns the number of keys.
    """
    if len(new_secret) < SECRET_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"the new signing-key secret needs at least {SECRET_MIN_LENGTH} characters"
        )
    decrypter = MultiFernet(
        [_derive(secret) for secret in dict.fromkeys([*_decryption_secrets(), new_secret])]
    )
    encrypter = _derive(new_secret)
    count = 0
    for model in _stored_keys():
        for key in model.objects.select_for_update().order_by("pk"):
            private_pem = _decrypt(key, decrypter)
            if b64encode(public_key_raw(private_key_from_pem(private_pem))) != key.public_key:
                raise SigningKeysUnreadable(
                    f"the signing key {_name(key)} does not match its public key"
                )
            key.private_key_encrypted = encrypter.encrypt(private_pem).decode("ascii")
            key.save(update_fields=["private_key_encrypted"])
            count += 1
    return count
