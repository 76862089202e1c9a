"""A hash-chained ledger: every entry carries the hash of the one before it.

An entry records *that* something happened (a contract version was adopted,
data were imported, a contract was settled) with the SHA-256 of the data it
refers to, who did it (``actor``) and when (``recorded_at``, given by the
caller: this module reads no clock). Its ``hash`` is the SHA-256 of the
canonical JSON (RFC 8785) of all its other fields, ``previous_hash``
included, so changing any entry breaks every link after it.

The platform stores entries in its database; the CLI keeps them in a JSON
Lines file; a settlement bundle carries a *slice*. All of them use
:func:`new_entry` to append and :func:`verify_chain` to check.

Entry format 2 (``"entry_version": 2``) also hashes ``contract``, the identifier
of the contract the entry is about, so the platform cannot file an entry under
another contract unnoticed. Entries of format 1 (no ``entry_version`` field,
written before) keep their fields and still verify under their own rule;
:func:`new_entry` writes format 2 only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from utfall.core.ledger.canonical import canonical_json, canonical_sha256

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
    "ChainProblem",
    "LedgerEntry",
    "entry_from_dict",
    "format_time",
    "new_entry",
    "parse_time",
    "verify_chain",
]

GENESIS = "0" * 64
"""The ``previous_hash`` of the first entry of a ledger."""

ENTRY_VERSION = 2
"""The entry format :func:`new_entry` writes (1: before ``contract`` was hashed)."""

KIND_CONTRACT_VERSION = "contract_version"
KIND_IMPORT = "import"
KIND_SETTLEMENT = "settlement"
KIND_STATEMENT = "statement"
# The national outcomes fund (docs/fund.md): a commitment to a constellation (or its
# release at termination) and an outcome payment made on a final statement.
KIND_FUND_COMMITMENT = "fund_commitment"
KIND_FUND_PAYMENT = "fund_payment"
# The design stage (docs/evaluation.md): the evaluation specs, their design figures and the
# contract version's hash, registered before any outcome data are imported (decision 0718).
KIND_PRE_REGISTRATION = "pre_registration"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FIELDS = (
    "sequence",
    "kind",
    "subject",
    "data_sha256",
    "actor",
    "recorded_at",
    "previous_hash",
    "attributes",
)
_FIELDS_2 = (*_FIELDS, "entry_version", "contract")


def format_time(moment: datetime) -> str:
    """The one text form of a time in the ledger: UTC, microseconds, ``Z``.

    One form only, so the same moment always hashes the same.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a ledger time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Read a time written by :func:`format_time` (and only that form)."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a ledger time (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of the chain. Build it with :func:`new_entry`, never by hand."""

    sequence: int
    kind: str
    subject: str
    data_sha256: str
    actor: str
    recorded_at: datetime
    previous_hash: str
    hash: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    contract: str = ""
    entry_version: int = 1

    def content(self) -> dict[str, Any]:
        """Every field but ``hash``: what the hash is computed over (``contract`` and
        ``entry_version`` from format 2 on)."""
        content: dict[str, Any] = {
            "sequence": self.sequence,
            "kind": self.kind,
            "subject": self.subject,
            "data_sha256": self.data_sha256,
            "actor": self.actor,
            "recorded_at": format_time(self.recorded_at),
            "previous_hash": self.previous_hash,
            "attributes": dict(self.attributes),
        }
        if self.entry_version >= 2:
            content["entry_version"] = self.entry_version
            content["contract"] = self.contract
        return content

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (content and hash)."""
        return {**self.content(), "hash": self.hash}

    def computed_hash(self) -> str:
        """The hash this entry's content gives now (equal to ``hash`` unless it was changed)."""
        return canonical_sha256(self.content())


def _check_sha256(value: str, what: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what} must be 64 lower-case hex digits, got {value!r}")


def new_entry(
    previous: LedgerEntry | None,
    *,
    kind: str,
    subject: str,
    data_sha256: str,
    actor: str,
    recorded_at: datetime,
    attributes: Mapping[str, Any] | None = None,
    contract: str = "",
) -> LedgerEntry:
    """The entry that follows ``previous`` (``None`` starts a new ledger), in format 2.

    ``attributes`` holds small JSON facts about the event (a file name, a
    contract version); never personal data. ``contract`` is the identifier of
    the contract it is about (empty for none); the hash covers it. Raises ``ValueError`` on a
    malformed hash, a naive time, or a time before the previous entry's.
    """
    _check_sha256(data_sha256, "data_sha256")
    if not kind or not actor:
        raise ValueError("an entry needs a kind and an actor")
    if previous is not None and recorded_at < previous.recorded_at:
        raise ValueError(
            f"an entry cannot be recorded at {format_time(recorded_at)}, before the previous "
            f"entry ({format_time(previous.recorded_at)})"
        )
    attributes = dict(attributes or {})
    canonical_json(attributes)  # refuse what cannot be hashed, now rather than later
    sequence = 0 if previous is None else previous.sequence + 1
    previous_hash = GENESIS if previous is None else previous.hash
    if not isinstance(contract, str):
        raise ValueError("contract must be text")
    unhashed = LedgerEntry(
        sequence=sequence,
        kind=kind,
        subject=subject,
        data_sha256=data_sha256,
        actor=actor,
        recorded_at=recorded_at,
        previous_hash=previous_hash,
        hash="",
        attributes=attributes,
        contract=contract,
        entry_version=ENTRY_VERSION,
    )
    return replace(unhashed, hash=unhashed.computed_hash())


def entry_from_dict(data: Mapping[str, Any]) -> LedgerEntry:
    """Read an entry from its JSON form, strictly: ``ValueError`` names the bad field.

    The stored ``hash`` is kept as it is; :func:`verify_chain` compares it with
    the hash of the content.
    """
    if not isinstance(data, Mapping):
        raise ValueError("a ledger entry is a JSON object")
    version = data.get("entry_version", 1)
    if version not in (1, 2) or isinstance(version, bool):
        raise ValueError(f"entry_version must be 2 (or absent: format 1), got {version!r}")
    if "entry_version" in data and version == 1:
        raise ValueError("a format 1 entry has no entry_version field")
    expected = {*(_FIELDS if version == 1 else _FIELDS_2), "hash"}
    missing = sorted(expected - set(data))
    extra = sorted(set(data) - expected)
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    if extra:
        raise ValueError(f"unknown field(s): {', '.join(extra)}")
    sequence = data["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ValueError(f"sequence must be a whole number of 0 or more, got {sequence!r}")
    for name in ("kind", "subject", "actor", *(("contract",) if version == 2 else ())):
        if not isinstance(data[name], str):
            raise ValueError(f"{name} must be text, got {data[name]!r}")
    for name in ("data_sha256", "previous_hash", "hash"):
        _check_sha256(data[name], name)
    if not isinstance(data["attributes"], Mapping):
        raise ValueError("attributes must be a JSON object")
    try:
        canonical_json(data["attributes"])
    except ValueError as error:
        raise ValueError(f"attributes cannot be hashed: {error}") from None
    return LedgerEntry(
        sequence=sequence,
        kind=data["kind"],
        subject=data["subject"],
        data_sha256=data["data_sha256"],
        actor=data["actor"],
        recorded_at=parse_time(data["recorded_at"]),
        previous_hash=data["previous_hash"],
        hash=data["hash"],
        attributes=dict(data["attributes"]),
        contract=data["contract"] if version == 2 else "",
        entry_version=version,
    )


@dataclass(frozen=True)
class ChainProblem:
    """A place where the chain does not hold."""

    sequence: int
    message: str

    def __str__(self) -> str:
        return f"ledger entry {self.sequence}: {self.message}"


def verify_chain(
    entries: Sequence[LedgerEntry], *, previous_hash: str | None = GENESIS
) -> list[ChainProblem]:
    """Every problem in ``entries``; an empty list when the chain holds.

    Checks each entry's hash against its content, each link to the entry
    before, consecutive sequence numbers and times that never go back.
    ``previous_hash`` is what the first entry must link to: :data:`GENESIS`
    for a whole ledger, the hash of the entry before a slice, or ``None`` to
    accept a slice that starts anywhere.
    """
    problems: list[ChainProblem] = []
    before: LedgerEntry | None = None
    for entry in entries:
        try:
            computed = entry.computed_hash()
        except ValueError as error:
            problems.append(ChainProblem(entry.sequence, f"its content cannot be hashed: {error}"))
            computed = entry.hash
        if computed != entry.hash:
            problems.append(
                ChainProblem(
                    entry.sequence,
                    f"its content does not match its hash (recorded {entry.hash}, "
                    f"the content gives {computed}): the entry was changed",
                )
            )
        if before is None:
            if previous_hash is not None and entry.previous_hash != previous_hash:
                where = "the start of the ledger" if previous_hash == GENESIS else previous_hash
                problems.append(
                    ChainProblem(
                        entry.sequence,
                        f"links to {entry.previous_hash}, but should link to {where}",
                    )
                )
            if previous_hash == GENESIS and entry.sequence != 0:
                problems.append(
                    ChainProblem(entry.sequence, "the first entry of a ledger must be number 0")
                )
        else:
            if entry.previous_hash != before.hash:
                problems.append(
                    ChainProblem(
                        entry.sequence,
                        f"links to {entry.previous_hash}, but the entry before it "
                        f"(number {before.sequence}) has hash {before.hash}",
                    )
                )
            if entry.sequence != before.sequence + 1:
                problems.append(
                    ChainProblem(
                        entry.sequence,
                        f"follows entry {before.sequence}; expected number {before.sequence + 1}",
                    )
                )
            if entry.recorded_at < before.recorded_at:
                problems.append(
                    ChainProblem(
                        entry.sequence,
                        f"is recorded at {format_time(entry.recorded_at)}, before entry "
                        f"{before.sequence} ({format_time(before.recorded_at)})",
                    )
                )
        before = entry
    return problems
