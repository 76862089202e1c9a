"""The ledger: canonical JSON, a hash chain of entries, signed settlement statements.

Pure: no files, no clock, no randomness. Public surface::

    canonical_json(value) -> bytes            # RFC 8785 (JCS)
    canonical_sha256(value) -> str
    new_entry(previous, kind=, subject=, data_sha256=, actor=, recorded_at=) -> LedgerEntry
    verify_chain(entries, previous_hash=GENESIS) -> list[ChainProblem]
    merkle: root_hash, inclusion_proof, consistency_proof, verify_inclusion, …  (RFC 9162)
    note: Checkpoint, checkpoint_text, note_sign, note_verify, note_cosign, …  (C2SP)
    Statement(...).signing_message() -> bytes
    sign_message(private_key, message) / verify_message(public_raw, message, signature)
"""

from __future__ import annotations

from utfall.core.ledger.canonical import canonical_json, canonical_sha256
from utfall.core.ledger.chain import (
    ENTRY_VERSION,
    GENESIS,
    KIND_CONTRACT_VERSION,
    KIND_FUND_COMMITMENT,
    KIND_FUND_PAYMENT,
    KIND_IMPORT,
    KIND_PRE_REGISTRATION,
    KIND_SETTLEMENT,
    KIND_STATEMENT,
    ChainProblem,
    LedgerEntry,
    entry_from_dict,
    format_time,
    new_entry,
    parse_time,
    verify_chain,
)
from utfall.core.ledger.signing import (
    b64decode_strict,
    b64encode,
    key_fingerprint,
    private_key_from_pem,
    private_key_pem,
    public_key_from_pem,
    public_key_pem,
    public_key_raw,
    sign_message,
    verify_message,
)
from utfall.core.ledger.statement import (
    SIGNING_CONTEXT,
    STATEMENT_FORMAT,
    Statement,
    StatementPayment,
    signing_message,
    statement_from_dict,
)

__all__ = [
    "ENTRY_VERSION",
    "GENESIS",
    "KIND_CONTRACT_VERSION",
    "KIND_FUND_COMMITMENT",
    "KIND_FUND_PAYMENT",
    "KIND_IMPORT",
    "KIND_PRE_REGISTRATION",
    "KIND_SETTLEMENT",
    "KIND_STATEMENT",
    "SIGNING_CONTEXT",
    "STATEMENT_FORMAT",
    "ChainProblem",
    "LedgerEntry",
    "Statement",
    "StatementPayment",
    "b64decode_strict",
    "b64encode",
    "canonical_json",
    "canonical_sha256",
    "entry_from_dict",
    "format_time",
    "key_fingerprint",
    "new_entry",
    "parse_time",
    "private_key_from_pem",
    "private_key_pem",
    "public_key_from_pem",
    "public_key_pem",
    "public_key_raw",
    "sign_message",
    "signing_message",
    "statement_from_dict",
    "verify_chain",
    "verify_message",
]
