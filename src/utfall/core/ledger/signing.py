"""Ed25519 signatures (RFC 8032) through the ``cryptography`` library.

Keys travel as PEM files (PKCS#8 private key, SubjectPublicKeyInfo public
key); inside a bundle a public key is its 32 raw bytes in base64. A key's
*fingerprint* is the SHA-256 of those raw bytes. Generating a key needs the
operating system's randomness, so it lives in the services, not here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "b64decode_strict",
    "b64encode",
    "key_fingerprint",
    "private_key_from_pem",
    "private_key_pem",
    "public_key_from_pem",
    "public_key_pem",
    "public_key_raw",
    "sign_message",
    "verify_message",
]


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode base64 that must be in its one canonical form.

    Base64 leaves a few bits unused in the last character; a decoder that
    ignores them reads two different texts as the same bytes. A bundle must
    not have two spellings, so the text must equal the re-encoding of what it
    decodes to (``ValueError`` otherwise).
    """
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not valid base64") from None
    if b64encode(data) != text:
        raise ValueError("base64 is not in its canonical form")
    return data


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (``ValueError`` if it is not one)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the key is {type(key).__name__.removeprefix('_')}, not Ed25519")
    return key


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """PEM (unencrypted PKCS#8) of an Ed25519 private key: what :func:`private_key_from_pem`
    reads back."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_from_pem(data: bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in PEM (``ValueError`` if it is not one)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of the public half of ``private_key``."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def public_key_pem(raw: bytes) -> bytes:
    """PEM (SubjectPublicKeyInfo) of a raw Ed25519 public key."""
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_fingerprint(raw: bytes) -> str:
    """SHA-256 (hex) of a raw public key: how a person compares two keys."""
    return hashlib.sha256(raw).hexdigest()


def sign_message(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` (deterministic, RFC 8032)."""
    return private_key.sign(message)


def verify_message(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by this key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
