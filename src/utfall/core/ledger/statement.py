"""The settlement statement: what the evaluator signs.

A statement names the contract version, lists every payment, and commits by
SHA-256 to every other part of a settlement (contract text, facts,
evaluations, the full settlement with its explanation) and to the head of the
ledger. Signing the statement therefore signs all of it, while the statement
itself stays small enough to read, store and publish on its own.

The signed message is a fixed context line followed by the canonical JSON
(RFC 8785) of the statement, so a signature made for a statement cannot be
presented as a signature of anything else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from utfall.core.ledger.canonical import canonical_json
from utfall.core.ledger.chain import format_time, parse_time

__all__ = [
    "SIGNING_CONTEXT",
    "STATEMENT_FORMAT",
    "Statement",
    "StatementPayment",
    "signing_message",
    "statement_from_dict",
]

STATEMENT_FORMAT = "utfall-settlement-statement/1"
SIGNING_CONTEXT = b"utfall settlement statement v1\n"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MONEY = re.compile(r"-?\d+\.\d{2}")


@dataclass(frozen=True)
class StatementPayment:
    """One payment as the statement states it."""

    id: str
    payer: str
    payee: str
    label: str
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON form; the amount as text with two decimals."""
        return {
            "id": self.id,
            "from": self.payer,
            "to": self.payee,
            "label": self.label,
            "amount_sek": str(self.amount.quantize(Decimal("0.01"))),
        }


@dataclass(frozen=True)
class Statement:
    """A settlement statement, ready to be signed by the evaluator."""

    contract_id: str
    contract_version: str
    contract_sha256: str
    payments: tuple[StatementPayment, ...]
    parts: Mapping[str, str]
    ledger_head: str
    evaluator: str
    signer_key_sha256: str
    signed_at: datetime
    supersedes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form that is signed."""
        return {
            "format": STATEMENT_FORMAT,
            "contract": self.contract_id,
            "version": self.contract_version,
            "contract_sha256": self.contract_sha256,
            "payments": [p.as_dict() for p in self.payments],
            "parts": dict(sorted(self.parts.items())),
            "ledger_head": self.ledger_head,
            "evaluator": self.evaluator,
            "signer_key_sha256": self.signer_key_sha256,
            "signed_at": format_time(self.signed_at),
            "supersedes": self.supersedes,
        }

    def signing_message(self) -> bytes:
        """The exact bytes the signature is made over."""
        return signing_message(self.as_dict())

    def sha256(self) -> str:
        """SHA-256 of the signed message: how a correction refers to this statement."""
        return hashlib.sha256(self.signing_message()).hexdigest()


def signing_message(statement: Mapping[str, Any]) -> bytes:
    """Context line + canonical JSON of a statement in its JSON form."""
    return SIGNING_CONTEXT + canonical_json(statement)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {value!r}")
    return value


def _sha(data: Mapping[str, Any], name: str) -> str:
    value = _text(data, name)
    if not _HEX64.fullmatch(value):
        raise ValueError(f"{name} must be 64 lower-case hex digits, got {value!r}")
    return value


def statement_from_dict(data: Mapping[str, Any]) -> Statement:
    """Read a statement from its JSON form, strictly (``ValueError`` names the field)."""
    if not isinstance(data, Mapping):
        raise ValueError("a statement is a JSON object")
    expected = {
        "format",
        "contract",
        "version",
        "contract_sha256",
        "payments",
        "parts",
        "ledger_head",
        "evaluator",
        "signer_key_sha256",
        "signed_at",
        "supersedes",
    }
    missing = sorted(expected - set(data))
    extra = sorted(set(data) - expected)
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    if extra:
        raise ValueError(f"unknown field(s): {', '.join(extra)}")
    if data["format"] != STATEMENT_FORMAT:
        raise ValueError(f"format must be {STATEMENT_FORMAT!r}, got {data['format']!r}")
    payments: list[StatementPayment] = []
    raw_payments = data["payments"]
    if not isinstance(raw_payments, list):
        raise ValueError("payments must be a list")
    for index, item in enumerate(raw_payments):
        if not isinstance(item, Mapping) or set(item) != {
            "id",
            "from",
            "to",
            "label",
            "amount_sek",
        }:
            raise ValueError(f"payments[{index}] must have id, from, to, label and amount_sek")
        amount = _text(item, "amount_sek")
        if not _MONEY.fullmatch(amount):
            raise ValueError(f"payments[{index}].amount_sek is not money: {amount!r}")
        try:
            value = Decimal(amount)
        except InvalidOperation:  # pragma: no cover - the pattern rules it out
            raise ValueError(f"payments[{index}].amount_sek is not money: {amount!r}") from None
        payments.append(
            StatementPayment(
                _text(item, "id"),
                _text(item, "from"),
                _text(item, "to"),
                _text(item, "label"),
                value,
            )
        )
    parts = data["parts"]
    if not isinstance(parts, Mapping) or not all(
        isinstance(v, str) and _HEX64.fullmatch(v) for v in parts.values()
    ):
        raise ValueError("parts must map part names to SHA-256 hashes")
    supersedes = data["supersedes"]
    if supersedes is not None:
        supersedes = _sha(data, "supersedes")
    return Statement(
        contract_id=_text(data, "contract"),
        contract_version=_text(data, "version"),
        contract_sha256=_sha(data, "contract_sha256"),
        payments=tuple(payments),
        parts=dict(parts),
        ledger_head=_sha(data, "ledger_head"),
        evaluator=_text(data, "evaluator"),
        signer_key_sha256=_sha(data, "signer_key_sha256"),
        signed_at=parse_time(_text(data, "signed_at")),
        supersedes=supersedes,
    )
