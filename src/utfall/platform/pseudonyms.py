"""Keyed pseudonyms for participants.

A Swedish personal identity number (or a source system's participant code) is
validated, normalised and replaced by ``HMAC-SHA256(key, namespace + ":" + value)``.
The key lives in a file named by ``settings.UTFALL_PSEUDONYM_KEY_FILE``; the same
person therefore gets the same pseudonym on every import, while nobody without the
key can go back from a pseudonym to the number. The clear number never leaves this
module's functions: it is not stored, logged or shown.
"""

from __future__ import annotations

import hmac
import secrets
import sys
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.se import personnummer

__all__ = [
    "KEY_BYTES",
    "InvalidIdentityNumber",
    "create_key_file",
    "load_key",
    "normalise_personnummer",
    "pseudonym_for_personnummer",
    "pseudonym_for_reference",
]

KEY_BYTES = 32


class InvalidIdentityNumber(ValueError):
    """A personal identity number that fails validation; the message never repeats it."""


def create_key_file(path: Path) -> None:
    """Write a new random key (hex) to ``path``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(KEY_BYTES) + "\n", encoding="ascii")
    path.chmod(0o600)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"The pseudonym key file {path} does not hold a hex key "
            f"({KEY_BYTES * 2} hex digits expected)."
        ) from error
    if len(key) < KEY_BYTES:
        raise ImproperlyConfigured(
            f"The pseudonym key in {path} is {len(key)} bytes; at least {KEY_BYTES} are needed."
        )
    return key


@lru_cache(maxsize=4)
def _cached_key(path: str, create_missing: bool) -> bytes:
    key_path = Path(path)
    if not key_path.exists():
        if not create_missing:
            raise ImproperlyConfigured(
                f"The pseudonym key file {key_path} does not exist "
                "(settings.UTFALL_PSEUDONYM_KEY_FILE / env UTFALL_PSEUDONYM_KEY_FILE). "
                "Create it once with `python -m utfall.platform.manage pseudonym_key create "
                f"{key_path}` and keep it secret and backed up: without the same key, "
                "re-imported people get new pseudonyms."
            )
        create_key_file(key_path)
        print(
            f"utfall: created a NEW pseudonym key at {key_path} (development settings only).",
            file=sys.stderr,
        )
    return _read_key(key_path)


def load_key() -> bytes:
    """The configured pseudonym key; raises ImproperlyConfigured when it is missing."""
    return _cached_key(
        str(settings.UTFALL_PSEUDONYM_KEY_FILE), bool(settings.UTFALL_PSEUDONYM_KEY_CREATE_MISSING)
    )


def normalise_personnummer(number: str) -> str:
    """Validate a personnummer or samordningsnummer and return its 12-digit form.

    Uses python-stdnum (``stdnum.se.personnummer`` for the format and the birth
    date, ``stdnum.luhn`` for the check digit). stdnum does not know coordination
    numbers (samordningsnummer: day of birth + 60), so their day is mapped back
    before the date check. A ten-digit number gets its century from its '-' or '+'
    separator (100 years or older) as the Population Registration Act says.
    Raises InvalidIdentityNumber with a message that never repeats the number.
    """
    try:
        compact = personnummer.compact(number)
    except Exception as error:  # stdnum raises on non-string input only
        raise InvalidIdentityNumber("is not text") from error
    digits = compact[:-5] + compact[-4:] if len(compact) in (11, 13) else ""
    if not digits.isdigit() or compact[-5] not in "-+":
        raise InvalidIdentityNumber("must be written YYYYMMDD-NNNN or YYMMDD-NNNN")
    short = digits[-10:]
    if not luhn.is_valid(short):
        raise InvalidIdentityNumber("the check digit is wrong")
    day = int(short[4:6])
    if day > 60:  # samordningsnummer
        compact = f"{compact[:-7]}{day - 60:02d}{compact[-5:]}"
    try:
        birth = personnummer.get_birth_date(compact)
    except ValidationError as error:
        raise InvalidIdentityNumber("the date of birth is not a valid date") from error
    return f"{birth.year // 100:02d}{short}"


def pseudonym_for_personnummer(number: str, *, key: bytes | None = None) -> str:
    """The keyed pseudonym (64 hex digits) of a valid personal identity number."""
    return _mac(key or load_key(), "pnr", normalise_personnummer(number))


def pseudonym_for_reference(reference: str, *, key: bytes | None = None) -> str:
    """The keyed pseudonym of a source system's participant code (e.g. a register's serial)."""
    value = reference.strip()
    if not value:
        raise InvalidIdentityNumber("the participant reference is empty")
    return _mac(key or load_key(), "ref", value)


def _mac(key: bytes, namespace: str, value: str) -> str:
    return hmac.new(key, f"{namespace}:{value}".encode(), sha256).hexdigest()
