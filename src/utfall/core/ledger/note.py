"""Signed tree heads as C2SP checkpoints in the signed-note format, and witness cosignatures.

A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is::

    <origin>
    <tree size, decimal>
    <root hash, base64>

followed by a blank line and one signature line per signer (c2sp.org/signed-note)::

    — <key name> <base64(key hash (4 bytes) || signature)>

The log signs the text with Ed25519 (signature type 0x01; key hash = the first
4 bytes of SHA-256(name || 0x0A || 0x01 || public key)). A witness cosigns
(c2sp.org/tlog-cosignature, type 0x04): it signs
``"cosignature/v1\\ntime <seconds>\\n" + text`` and its line carries
``key hash || time (8 bytes, big-endian) || signature``. A verifier key is written
``<name>+<key hash, hex>+<base64(type || public key)>``, as the Go note package
reads it. Pure: the time of a cosignature is a parameter.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.core.ledger.signing import (
    b64decode_strict,
    b64encode,
    public_key_raw,
    sign_message,
    verify_message,
)

__all__ = [
    "MAX_NOTE_SIZE",
    "SIGNATURE_COSIGNATURE",
    "SIGNATURE_ED25519",
    "Checkpoint",
    "NoteSignature",
    "checkpoint_parse",
    "checkpoint_text",
    "cosignature_message",
    "cosignature_time",
    "key_hash",
    "note_cosign",
    "note_parse",
    "note_sign",
    "note_verify",
    "note_verify_cosignature",
    "verifier_key",
    "verifier_key_parse",
]

SIGNATURE_ED25519 = 0x01
SIGNATURE_COSIGNATURE = 0x04
MAX_NOTE_SIZE = 64 * 1024
"""A note (checkpoint and signatures) longer than this is refused unread."""
MAX_SIGNATURES = 100

_NAME = re.compile(r"[^\s+\u2014]+")
_ORIGIN = re.compile(r"[^\n]{1,200}")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_DASH = "\u2014 "


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head's content: which log, how many leaves, which root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The note text that is signed (every line ends in a newline)."""
        return checkpoint_text(self)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte hash and the signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """The line as it is written in the note (with its newline)."""
        return f"{_DASH}{self.name} {b64encode(self.key_hash + self.signature)}\n"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"a key name has no spaces, '+' or '—', got {name!r}")


def key_hash(name: str, kind: int, public_key: bytes) -> bytes:
    """The 4-byte key hash of the signed-note format: SHA-256(name, newline, type, key)[:4]."""
    _check_name(name)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([kind]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes, kind: int = SIGNATURE_ED25519) -> str:
    """``name+keyhash+base64(type||key)``: how a log's or witness's public key is published."""
    return (
        f"{name}+{key_hash(name, kind, public_key).hex()}+{b64encode(bytes([kind]) + public_key)}"
    )


def verifier_key_parse(text: str) -> tuple[str, int, bytes]:
    """Name, signature type and raw public key of a verifier key (``ValueError`` names the
    part that is wrong)."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise ValueError("a verifier key is NAME+KEYHASH+KEY")
    name, hash_hex, encoded = parts
    _check_name(name)
    data = b64decode_strict(encoded)
    if len(data) != 33 or data[0] not in (SIGNATURE_ED25519, SIGNATURE_COSIGNATURE):
        raise ValueError("the key is not an Ed25519 key (type 0x01 or 0x04, 32 bytes)")
    if key_hash(name, data[0], data[1:]).hex() != hash_hex:
        raise ValueError("the key hash does not match the name and key")
    return name, data[0], data[1:]


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The body of a checkpoint note."""
    if not _ORIGIN.fullmatch(checkpoint.origin) or checkpoint.origin.strip() != checkpoint.origin:
        raise ValueError(f"the origin must be one line of text, got {checkpoint.origin!r}")
    if len(checkpoint.root) != 32:
        raise ValueError("the root hash has 32 bytes")
    lines = [checkpoint.origin, str(checkpoint.size), b64encode(checkpoint.root)]
    for extension in checkpoint.extensions:
        if not extension or "\n" in extension:
            raise ValueError("an extension line is one non-empty line")
        lines.append(extension)
    return "".join(f"{line}\n" for line in lines)


def checkpoint_parse(text: str) -> Checkpoint:
    """The checkpoint a note text holds (``ValueError`` names the line that is wrong)."""
    if not text.endswith("\n"):
        raise ValueError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size, root, *extensions = lines
    if not _ORIGIN.fullmatch(origin) or not origin.strip():
        raise ValueError("line 1: the origin is empty")
    if not _SIZE.fullmatch(size):
        raise ValueError(f"line 2: the tree size is not a whole number: {size!r}")
    try:
        root_bytes = b64decode_strict(root)
    except ValueError as error:
        raise ValueError(f"line 3: the root hash is {error}") from None
    if len(root_bytes) != 32:
        raise ValueError("line 3: the root hash has 32 bytes")
    if any(not line for line in extensions):
        raise ValueError("a checkpoint has no blank line in its text")
    return Checkpoint(origin, int(size), root_bytes, tuple(extensions))


def note_parse(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and its signature lines."""
    if len(note.encode("utf-8")) > MAX_NOTE_SIZE:
        raise ValueError(f"a note is at most {MAX_NOTE_SIZE} bytes")
    text, separator, block = note.partition("\n\n")
    if not separator:
        raise ValueError("a signed note has a blank line before its signatures")
    text += "\n"
    if not block.endswith("\n"):
        raise ValueError("a signed note ends with a newline")
    signatures = []
    for number, line in enumerate(block[:-1].split("\n"), start=1):
        if not line.startswith(_DASH):
            raise ValueError(f"signature line {number} does not start with '— '")
        name, space, encoded = line[len(_DASH) :].partition(" ")
        if not space:
            raise ValueError(f"signature line {number}: no signature after the name")
        _check_name(name)
        try:
            data = b64decode_strict(encoded)
        except ValueError as error:
            raise ValueError(f"signature line {number}: {error}") from None
        if len(data) < 5:
            raise ValueError(f"signature line {number}: too short")
        signatures.append(NoteSignature(name, data[:4], data[4:]))
    if not signatures:
        raise ValueError("a signed note has at least one signature")
    if len(signatures) > MAX_SIGNATURES:
        raise ValueError(f"a note has at most {MAX_SIGNATURES} signatures")
    return text, signatures


def note_sign(text: str, *, name: str, private_key: Ed25519PrivateKey) -> NoteSignature:
    """The log's Ed25519 signature line on a note text."""
    raw = public_key_raw(private_key)
    return NoteSignature(
        name,
        key_hash(name, SIGNATURE_ED25519, raw),
        sign_message(private_key, text.encode("utf-8")),
    )


def note_verify(
    text: str, signatures: Sequence[NoteSignature], *, name: str, public_key: bytes
) -> bool:
    """Whether one of ``signatures`` is a valid Ed25519 signature of ``text`` by this key."""
    expected = key_hash(name, SIGNATURE_ED25519, public_key)
    return any(
        s.name == name
        and s.key_hash == expected
        and len(s.signature) == 64
        and verify_message(public_key, text.encode("utf-8"), s.signature)
        for s in signatures
    )


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a witness signs (c2sp.org/tlog-cosignature): a header with the time, then the text."""
    if not 0 <= timestamp < 2**63:
        raise ValueError("a cosignature time is seconds since 1970, 0 or more")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def note_cosign(
    text: str, *, name: str, private_key: Ed25519PrivateKey, timestamp: int
) -> NoteSignature:
    """A witness's cosignature line on a checkpoint text, made at ``timestamp`` (seconds)."""
    raw = public_key_raw(private_key)
    signature = sign_message(private_key, cosignature_message(text, timestamp))
    return NoteSignature(
        name,
        key_hash(name, SIGNATURE_COSIGNATURE, raw),
        struct.pack(">Q", timestamp) + signature,
    )


def cosignature_time(signature: NoteSignature) -> int:
    """The time (seconds since 1970) a cosignature says it was made."""
    if len(signature.signature) != 72:
        raise ValueError("a cosignature has 8 bytes of time and 64 of signature")
    return int(struct.unpack(">Q", signature.signature[:8])[0])


def note_verify_cosignature(text: str, signature: NoteSignature, *, public_key: bytes) -> bool:
    """Whether ``signature`` is a valid witness cosignature of ``text`` by this key."""
    if len(signature.signature) != 72:
        return False
    if signature.key_hash != key_hash(signature.name, SIGNATURE_COSIGNATURE, public_key):
        return False
    timestamp = cosignature_time(signature)
    return verify_message(public_key, cosignature_message(text, timestamp), signature.signature[8:])
