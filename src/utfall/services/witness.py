"""A witness of the platform's transparency log: check each new tree head, then cosign it.

A witness (any party: the financier, the fund, the municipality's auditor) keeps
the last tree head it accepted. Each run it fetches the log's newest checkpoint,
checks the log's signature with the pinned log key, asks for the consistency proof
from its last head to the new one and verifies it (RFC 9162 §2.1.4.2); only then
does it keep the new head and cosign it (c2sp.org/tlog-cosignature). A head of the
same size with another root, a smaller tree, or a proof that does not verify means
the log showed two histories (a *split view*) or rewrote its own: that is reported
with both heads, the state is left as it was, and nothing is cosigned.

Everything here is pure but for ``fetch``, the function that reads one path of the
log's API (``utfall.cli.witness`` passes an HTTP client): state in, result out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from utfall.core.ledger import b64decode_strict, b64encode, public_key_raw
from utfall.core.ledger.merkle import MAX_PROOF_LENGTH, verify_consistency
from utfall.core.ledger.note import (
    SIGNATURE_COSIGNATURE,
    Checkpoint,
    checkpoint_parse,
    note_cosign,
    note_parse,
    note_verify,
    verifier_key,
    verifier_key_parse,
)
from utfall.errors import UserError, VerificationFailed

__all__ = [
    "STATE_FORMAT",
    "SplitView",
    "WitnessResult",
    "witness_key",
    "witness_run",
    "witness_state_new",
    "witness_state_parse",
]

STATE_FORMAT = "utfall-witness-state/1"

Fetch = Callable[[str], bytes]


class SplitView(VerificationFailed):
    """The log showed a head that does not extend the one the witness saw before."""

    def __init__(self, summary: str, differences: list[str] | None = None):
        super().__init__(summary, differences or [])


@dataclass(frozen=True)
class WitnessResult:
    """What one run found: the heads before and after, and the cosignature line made."""

    previous: Checkpoint | None
    current: Checkpoint
    cosignature: str
    state: dict[str, Any]
    note: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "previous_size": self.previous.size if self.previous else None,
            "size": self.current.size,
            "root": b64encode(self.current.root),
            "cosignature": self.cosignature,
        }


def witness_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """The witness's verifier key (type 0x04), as the log stores it with its cosignatures."""
    return verifier_key(name, public_key_raw(private_key), SIGNATURE_COSIGNATURE)


def witness_state_new(log_key: str) -> dict[str, Any]:
    """A state that pins ``log_key`` and has seen no head yet."""
    try:
        verifier_key_parse(log_key)
    except ValueError as error:
        raise UserError(f"the log key {log_key!r} cannot be read: {error}") from None
    return {"format": STATE_FORMAT, "log_key": log_key.strip(), "checkpoint": None}


def witness_state_parse(text: str, *, source: str) -> dict[str, Any]:
    """A witness state file's content (``UserError`` names the file and the field)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{source}: not JSON (line {error.lineno}): {error.msg}") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise UserError(f"{source}: not a witness state ({STATE_FORMAT})")
    if not isinstance(data.get("log_key"), str):
        raise UserError(f"{source}: log_key must be the log's verifier key")
    try:
        verifier_key_parse(data["log_key"])
        if data.get("checkpoint") is not None:
            body, _ = note_parse(data["checkpoint"])
            checkpoint_parse(body)
    except (ValueError, TypeError) as error:
        raise UserError(f"{source}: {error}") from None
    return data


def _get_json(fetch: Fetch, path: str) -> Mapping[str, Any]:
    try:
        data = json.loads(fetch(path))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path}: the log did not answer with JSON") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: the log did not answer with a JSON object")
    return data


def _verified_head(note: str, log_key: str) -> tuple[str, Checkpoint]:
    name, _kind, raw = verifier_key_parse(log_key)
    try:
        text, signatures = note_parse(note)
        checkpoint = checkpoint_parse(text)
    except ValueError as error:
        raise UserError(f"the log's checkpoint cannot be read: {error}") from None
    if checkpoint.origin != name:
        raise VerificationFailed(
            f"the checkpoint is of log {checkpoint.origin!r}, the pinned key of {name!r}", []
        )
    if not note_verify(text, signatures, name=name, public_key=raw):
        raise VerificationFailed(
            f"the checkpoint of size {checkpoint.size} is not signed by the pinned log key {name}",
            [],
        )
    return text, checkpoint


def _describe(checkpoint: Checkpoint) -> str:
    return f"size {checkpoint.size}, root {b64encode(checkpoint.root)}"


def witness_run(
    *,
    fetch: Fetch,
    state: Mapping[str, Any],
    name: str,
    private_key: Ed25519PrivateKey,
    now: int,
) -> WitnessResult:
    """Fetch the log's newest head, check it against ``state``, and cosign it.

    ``now`` (seconds since 1970) is the time put in the cosignature. Raises
    :class:`SplitView` for a head that does not extend the last one seen,
    :class:`VerificationFailed` for a head not signed by the pinned key, and
    ``UserError`` for answers that cannot be read.
    """
    log_key = state["log_key"]
    note = fetch("/ledger/checkpoint").decode("utf-8", errors="replace")
    text, current = _verified_head(note, log_key)
    previous: Checkpoint | None = None
    if state.get("checkpoint"):
        _old_text, previous = _verified_head(state["checkpoint"], log_key)
    if previous is not None:
        if current.size < previous.size:
            raise SplitView(
                f"split view: the log now shows {_describe(current)}, smaller than the head "
                f"this witness cosigned before ({_describe(previous)}): entries were removed"
            )
        if current.size == previous.size and current.root != previous.root:
            raise SplitView(
                f"split view: two different heads of size {current.size}: "
                f"{b64encode(previous.root)} (seen before) and {b64encode(current.root)} (now)"
            )
        if current.size > previous.size:
            answer = _get_json(
                fetch,
                f"/ledger/proof/consistency?first={previous.size}&second={current.size}",
            )
            proof_text = answer.get("proof")
            if not isinstance(proof_text, list) or len(proof_text) > MAX_PROOF_LENGTH:
                raise UserError("the consistency proof is not a list of hashes")
            try:
                proof = [b64decode_strict(h) for h in proof_text]
                holds = verify_consistency(
                    previous.size, current.size, previous.root, current.root, proof
                )
            except ValueError as error:
                raise UserError(f"the consistency proof cannot be read: {error}") from None
            if not holds:
                raise SplitView(
                    f"split view: the head now shown ({_describe(current)}) does not extend "
                    f"the one this witness saw before ({_describe(previous)}): the log's "
                    "history was changed"
                )
    line = note_cosign(text, name=name, private_key=private_key, timestamp=now).line()
    log_line = next(
        item
        for item in note.split("\n\n", 1)[1].splitlines(keepends=True)
        if item.startswith(f"\u2014 {current.origin} ")
    )
    new_state = {**state, "checkpoint": text + "\n" + log_line}
    return WitnessResult(previous, current, line, new_state, text + "\n" + log_line + line)
