"""The platform's ledger: one hash chain (``utfall.core.ledger``) stored in the database.

Contract versions, committed imports and signed settlements are appended by
the services that make them, inside their transaction, so an entry exists
exactly when the thing it records does. The chain is the core's: the same
entries can be written as JSON Lines and checked by ``utfall verify --ledger``.

Nothing is appended to a chain that does not hold: every append first checks the
whole stored chain (and that it still matches the newest signed tree head, see
``transparency.py``) and refuses with :class:`LedgerBroken` otherwise, so a
tampered ledger is reported and left as it was found, not extended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from utfall.core.ledger import (
    GENESIS,
    KIND_CONTRACT_VERSION,
    KIND_IMPORT,
    ChainProblem,
    LedgerEntry,
    new_entry,
    verify_chain,
)
from utfall.errors import UserError
from utfall.platform.settlements.models import LedgerRecord

__all__ = [
    "LedgerBroken",
    "ledger_append",
    "ledger_chain",
    "ledger_check",
    "ledger_contract_version",
    "ledger_entries",
    "ledger_head",
    "ledger_import",
    "ledger_jsonl",
    "ledger_problems",
    "ledger_store",
    "ledger_verify",
]


class LedgerBroken(UserError):
    """The stored ledger does not hold, so nothing may be added to it."""

    def __init__(self, problems: Sequence[ChainProblem | str]):
        self.problems = [str(p) for p in problems]
        super().__init__(
            f"the ledger does not hold ({self.problems[0]}); nothing is added to it until an "
            f"operator restores it (manage ledger verify; docs/platform.md, backup and restore)"
        )

    @property
    def detail(self) -> list[str]:
        """One line per problem found."""
        return self.problems[1:11]


def ledger_problems() -> list[str]:
    """Every place where the stored chain or its newest signed tree head does not hold
    (empty when both hold)."""
    from utfall.platform.settlements.transparency import log_problems

    return [*map(str, ledger_verify()), *log_problems()]


def ledger_check() -> None:
    """Raise :class:`LedgerBroken` when the stored chain or its signed tree head does not hold."""
    problems = ledger_problems()
    if problems:
        raise LedgerBroken(problems)


def _actor_name(actor: AbstractBaseUser | str | None) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username() or "system"


def ledger_head(*, lock: bool = False) -> LedgerEntry | None:
    """The last entry (``lock`` holds it until the transaction ends: appends queue up)."""
    records = LedgerRecord.objects.order_by("-sequence")
    if lock:
        records = records.select_for_update()
    record = records.first()
    return record.entry() if record is not None else None


def _save(entry: LedgerEntry, contract_identifier: str) -> LedgerRecord:
    return LedgerRecord.objects.create(
        sequence=entry.sequence,
        kind=entry.kind,
        subject=entry.subject,
        data_sha256=entry.data_sha256,
        actor=entry.actor,
        recorded_at=entry.recorded_at,
        previous_hash=entry.previous_hash,
        hash=entry.hash,
        attributes=dict(entry.attributes),
        contract_identifier=entry.contract if entry.entry_version >= 2 else contract_identifier,
        entry_version=entry.entry_version,
    )


@transaction.atomic
def ledger_append(
    *,
    kind: str,
    subject: str,
    data_sha256: str,
    actor: AbstractBaseUser | str | None,
    contract_identifier: str = "",
    attributes: Mapping[str, Any] | None = None,
) -> LedgerRecord:
    """Append one entry after the current head (called by services, in their transaction).

    Refuses (:class:`LedgerBroken`) when the stored chain does not hold.
    """
    head = ledger_head(lock=True)
    ledger_check()
    now = timezone.now()
    if head is not None and now < head.recorded_at:
        now = head.recorded_at  # a clock step back must not break the chain
    entry = new_entry(
        head,
        kind=kind,
        subject=subject,
        data_sha256=data_sha256,
        actor=_actor_name(actor),
        recorded_at=now,
        attributes=dict(attributes or {}),
        contract=contract_identifier,
    )
    return _save(entry, contract_identifier)


@transaction.atomic
def ledger_store(entries: Sequence[LedgerEntry], *, contract_identifier: str) -> bool:
    """Store entries made elsewhere (a bundle's slice); False if they do not follow the head.

    Refuses (:class:`LedgerBroken`) when the stored chain does not hold, and entries
    that name another contract than ``contract_identifier`` or do not chain up.
    """
    head = ledger_head(lock=True)
    if not entries:
        return True
    expected = head.hash if head is not None else None
    if (expected is None and entries[0].sequence != 0) or (
        expected is not None and entries[0].previous_hash != expected
    ):
        return False
    ledger_check()
    problems = verify_chain(entries, previous_hash=expected or GENESIS)
    if problems:
        raise UserError(f"the entries to store do not chain up: {problems[0]}")
    for entry in entries:
        if entry.entry_version >= 2 and entry.contract != contract_identifier:
            raise UserError(
                f"ledger entry {entry.sequence} is about contract {entry.contract!r}, "
                f"not {contract_identifier!r}"
            )
    for entry in entries:
        _save(entry, contract_identifier)
    return True


def ledger_contract_version(*, version: Any, actor: AbstractBaseUser | None) -> LedgerRecord:
    """Record an uploaded contract version."""
    contract = version.contract
    return ledger_append(
        kind=KIND_CONTRACT_VERSION,
        subject=f"contract {contract.identifier} version {version.number}",
        data_sha256=version.sha256,
        actor=actor,
        contract_identifier=contract.identifier,
        attributes={
            "contract": contract.identifier,
            "version": version.number,
            "declared_version": version.declared_version,
        },
    )


def ledger_import(
    *, batch: Any, segment: Any = None, actor: AbstractBaseUser | None
) -> LedgerRecord:
    """Record a committed import: the SHA-256 of the file as uploaded, and of the rows it
    stored (the segment's ``table_digest``; none when every row was already stored)."""
    contract = batch.contract
    return ledger_append(
        kind=KIND_IMPORT,
        subject=f"import {batch.table} {batch.file_name}",
        data_sha256=batch.file_sha256,
        actor=actor,
        contract_identifier=contract.identifier,
        attributes={
            "contract": contract.identifier,
            "what": batch.table,
            "file": batch.file_name,
            "rows": batch.rows_written,
            "rows_sha256": segment.sha256 if segment is not None else None,
        },
    )


def ledger_chain() -> list[LedgerEntry]:
    """Every entry of the ledger in the core's form, oldest first (what a bundle continues);
    :class:`LedgerBroken` when a stored entry cannot even be read."""
    entries = []
    for record in LedgerRecord.objects.order_by("sequence").iterator():
        try:
            entries.append(record.entry())
        except ValueError as error:
            raise LedgerBroken([ChainProblem(record.sequence, str(error))]) from None
    return entries


def ledger_entries(*, contract_identifier: str | None = None) -> list[LedgerRecord]:
    """Every entry, oldest first (or those about one contract)."""
    records = LedgerRecord.objects.order_by("sequence")
    if contract_identifier is not None:
        records = records.filter(contract_identifier=contract_identifier)
    return list(records)


def ledger_jsonl() -> bytes:
    """The whole ledger as JSON Lines, the form ``utfall verify --ledger FILE`` reads."""
    return b"".join(
        json.dumps(r.as_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        for r in LedgerRecord.objects.order_by("sequence").iterator()
    )


def ledger_verify() -> list[ChainProblem]:
    """Every place where the stored chain does not hold (empty when it holds)."""
    entries = []
    problems = []
    for record in LedgerRecord.objects.order_by("sequence").iterator():
        try:
            entries.append(record.entry())
        except ValueError as error:
            problems.append(ChainProblem(record.sequence, str(error)))
    return problems + verify_chain(entries)
