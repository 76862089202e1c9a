"""Evaluators' Ed25519 signing keys, kept on the server.

The private key is stored encrypted (Fernet) with a key derived from
``UTFALL_SIGNING_KEY_SECRET`` (default: ``SECRET_KEY``), so a database dump
alone does not let anyone sign; the public key and its fingerprint are shown to
everyone (the public-keys page) so a bundle's signer can be checked with
``utfall verify --public-key``. See docs/decisions/0301-platform-settlement-workflow.md.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
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

__all__ = ["evaluator_key_ensure", "evaluator_key_private", "evaluator_key_public_pem"]


def _fernet() -> Fernet:
    secret = getattr(settings, "UTFALL_SIGNING_KEY_SECRET", None) or settings.SECRET_KEY
    digest = hashlib.sha256(b"utfall evaluator signing keys\0" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


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
        private_key_encrypted=_fernet().encrypt(private_pem).decode("ascii"),
    )


def evaluator_key_private(key: EvaluatorKey) -> Ed25519PrivateKey:
    """The private key (decrypted in memory only, for signing)."""
    return private_key_from_pem(_fernet().decrypt(key.private_key_encrypted.encode("ascii")))


def evaluator_key_public_pem(key: EvaluatorKey) -> bytes:
    """The public key as PEM (``utfall verify --public-key`` reads it)."""
    return public_key_pem(base64.b64decode(key.public_key))
