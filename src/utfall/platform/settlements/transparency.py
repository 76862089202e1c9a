"""The ledger as a transparency log (RFC 9162 Merkle tree, C2SP checkpoints and cosignatures).

The leaves are the ledger entries in sequence order (``utfall.core.ledger.merkle``;
a leaf is the canonical JSON of the entry). The platform signs *tree heads*
(checkpoints, ``utfall.core.ledger.note``) with its log key, an Ed25519 key kept
like the evaluators' keys (private half encrypted, ``keys.py``), and serves them
with inclusion and consistency proofs (``api.py``: ``/api/ledger/…``). Witnesses
(``utfall witness``) check each new head against the last one they saw and post
a cosignature, which is stored and served with the head. A statement's bundle
carries the inclusion proof of its settlement entry in the head signed at sign-off.

Limits: a proof request names at most :data:`MAX_TREE_SIZE` leaves; a posted
cosignature note is at most ``note.MAX_NOTE_SIZE`` bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from utfall.core.ledger import b64encode, canonical_json, private_key_from_pem, private_key_pem
from utfall.core.ledger import public_key_raw as _public_raw
from utfall.core.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from utfall.core.ledger.note import (
    SIGNATURE_COSIGNATURE,
    Checkpoint,
    checkpoint_parse,
    cosignature_time,
    note_parse,
    note_sign,
    note_verify_cosignature,
    verifier_key,
    verifier_key_parse,
)
from utfall.errors import UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.settlements.models import (
    LedgerRecord,
    LogCheckpoint,
    LogKey,
    WitnessCosignature,
)

__all__ = [
    "MAX_TREE_SIZE",
    "log_bundle_proof",
    "log_checkpoint",
    "log_checkpoint_note",
    "log_consistency",
    "log_cosignature_accept",
    "log_inclusion",
    "log_key_ensure",
    "log_origin",
    "log_problems",
    "log_verifier_key",
]

MAX_TREE_SIZE = 10_000_000
"""Tree sizes above this are refused in a request before anything is read."""


def log_origin() -> str:
    """The log's name: the first line of every checkpoint and the log key's name."""
    return getattr(settings, "UTFALL_LOG_ORIGIN", "") or "utfall.local/ledger"


def _encrypt(data: bytes) -> str:
    # The log key is stored exactly like the evaluators' keys, under the same secret.
    from utfall.platform.settlements import keys

    return str(keys._encrypter().encrypt(data).decode("ascii"))


def _decrypt(text: str) -> bytes:
    from utfall.platform.settlements import keys

    return bytes(keys._decrypter().decrypt(text.encode("ascii")))


@transaction.atomic
def log_key_ensure() -> LogKey:
    """The log's active key, made on first use."""
    origin = log_origin()
    key = (
        LogKey.objects.select_for_update()
        .filter(retired_at__isnull=True, name=origin)
        .order_by("-created_at", "-pk")
        .first()
    )
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    return LogKey.objects.create(
        name=origin,
        public_key=b64encode(_public_raw(private)),
        private_key_encrypted=_encrypt(private_key_pem(private)),
    )


def _private(key: LogKey) -> Ed25519PrivateKey:
    return private_key_from_pem(_decrypt(key.private_key_encrypted))


def _raw(key: LogKey) -> bytes:
    return base64.b64decode(key.public_key)


def log_verifier_key(key: LogKey | None = None) -> str:
    """The log's public key as a note verifier key (``NAME+HASH+KEY``): what witnesses pin."""
    key = key or log_key_ensure()
    return verifier_key(key.name, _raw(key))


def _leaf_hashes(size: int | None = None) -> list[bytes]:
    records = LedgerRecord.objects.order_by("sequence")
    if size is not None:
        records = records[:size]
    # Hash what is stored (not a re-parsed entry): a row changed in the database changes its leaf.
    return [leaf_hash(canonical_json(record.as_dict())) for record in records.iterator()]


def _tree_size() -> int:
    return LedgerRecord.objects.count()


def log_checkpoint() -> LogCheckpoint:
    """The signed tree head of the ledger as it is now (signed and stored on first request)."""
    from utfall.platform.settlements.ledger import LedgerBroken, ledger_verify

    with transaction.atomic():
        problems = ledger_verify()
        if problems:
            raise LedgerBroken(problems)  # the log signs no head over a broken chain
        leaves = _leaf_hashes()
        size = len(leaves)
        root = root_hash(leaves)
        stored = LogCheckpoint.objects.filter(size=size).first()
        if stored is not None:
            if stored.root_hash != root.hex():
                raise UserError(
                    f"the ledger no longer matches its signed tree head of size {size}: "
                    "it was changed after it was signed"
                )
            return stored
        key = log_key_ensure()
        text = Checkpoint(key.name, size, root).text()
        line = note_sign(text, name=key.name, private_key=_private(key)).line()
        try:
            with transaction.atomic():
                return LogCheckpoint.objects.create(
                    size=size, root_hash=root.hex(), note=text + "\n" + line, key=key
                )
        except IntegrityError:  # signed meanwhile by another request
            return LogCheckpoint.objects.get(size=size)


def log_checkpoint_note(checkpoint: LogCheckpoint) -> str:
    """The checkpoint as served: the log's signed note followed by the witnesses' cosignatures."""
    lines = [c.line for c in checkpoint.cosignatures.order_by("name", "pk")]
    return checkpoint.note + "".join(lines)


def _size(value: int, what: str) -> int:
    if not 0 <= value <= MAX_TREE_SIZE:
        raise UserError(f"{what} must be between 0 and {MAX_TREE_SIZE}, got {value}")
    return value


def log_inclusion(*, sequence: int, size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of ledger entry ``sequence`` in the tree of ``size`` leaves (the
    newest signed head when not given); ``UserError`` for a leaf outside the tree."""
    tree_size = _size(size, "size") if size is not None else log_checkpoint().size
    if LogCheckpoint.objects.filter(size=tree_size).first() is None:
        raise UserError(f"there is no signed tree head of size {tree_size}")
    _size(sequence, "sequence")
    if not sequence < tree_size:
        raise UserError(f"entry {sequence} is not in the tree of {tree_size} entries")
    leaves = _leaf_hashes(tree_size)
    if len(leaves) < tree_size:
        raise UserError(f"the ledger has {len(leaves)} entries, fewer than {tree_size}")
    return {
        "leaf_index": sequence,
        "tree_size": tree_size,
        "leaf_hash": b64encode(leaves[sequence]),
        "proof": [b64encode(h) for h in inclusion_proof(leaves, sequence)],
    }


def log_consistency(*, first: int, second: int) -> dict[str, Any]:
    """The consistency proof between the trees of ``first`` and ``second`` leaves."""
    _size(first, "first")
    _size(second, "second")
    if first > second:
        raise UserError(f"first ({first}) must not be larger than second ({second})")
    current = _tree_size()
    if second > current:
        raise UserError(f"the ledger has {current} entries, fewer than {second}")
    leaves = _leaf_hashes(second)
    return {
        "first": first,
        "second": second,
        "proof": [b64encode(h) for h in consistency_proof(leaves, first)],
    }


def log_cosignature_accept(
    *, cosignature: str, witness_key: str, actor: AbstractBaseUser
) -> WitnessCosignature:
    """Store a witness's cosignature of a signed tree head.

    ``cosignature`` is the checkpoint note with the witness's cosignature line (as
    ``utfall witness`` posts it); ``witness_key`` the witness's verifier key. The
    checkpoint must be one the log signed, and the line a valid cosignature by that key.
    """
    try:
        text, signatures = note_parse(cosignature)
        checkpoint = checkpoint_parse(text)
        name, kind, raw = verifier_key_parse(witness_key)
    except ValueError as error:
        raise UserError(f"the cosignature cannot be read: {error}") from None
    if kind != SIGNATURE_COSIGNATURE:
        raise UserError("a witness key has signature type 0x04 (tlog-cosignature)")
    stored = LogCheckpoint.objects.filter(size=checkpoint.size).first()
    if stored is None or not stored.note.startswith(text + "\n"):
        raise UserError(
            f"this log signed no such tree head of size {checkpoint.size}: the witness saw "
            "another history (a split view)"
        )
    mine = [s for s in signatures if s.name == name]
    good = [s for s in mine if note_verify_cosignature(text, s, public_key=raw)]
    if not good:
        raise UserError(f"no valid cosignature by witness {name!r} on this tree head")
    signed_at = dt.datetime.fromtimestamp(cosignature_time(good[0]), tz=dt.UTC)
    with transaction.atomic():
        record, _created = WitnessCosignature.objects.update_or_create(
            checkpoint=stored,
            verifier_key=witness_key.strip(),
            defaults={
                "name": name,
                "line": good[0].line(),
                "signed_at": signed_at,
                "submitted_by": actor,
            },
        )
        audit_record(
            actor=actor,
            action="ledger.cosigned",
            witness=name,
            size=stored.size,
            root=stored.root_hash,
        )
    return record


def log_problems() -> list[str]:
    """Where the stored ledger no longer matches the newest signed tree head (empty if it does)."""
    newest = LogCheckpoint.objects.order_by("-size").first()
    if newest is None:
        return []
    leaves = _leaf_hashes(newest.size)
    if len(leaves) < newest.size:
        return [
            f"the ledger has {len(leaves)} entries, but a tree head of {newest.size} was signed: "
            "entries were removed"
        ]
    if root_hash(leaves).hex() != newest.root_hash:
        return [
            f"the first {newest.size} entries no longer give the signed root hash "
            f"{newest.root_hash}: an entry was changed after the tree head was signed"
        ]
    return []


def log_bundle_proof(*, sequence: int) -> dict[str, Any]:
    """What a bundle carries: the signed tree head now, the log key and the inclusion proof
    of entry ``sequence`` in it."""
    checkpoint = log_checkpoint()
    proof = log_inclusion(sequence=sequence, size=checkpoint.size)
    return {
        "checkpoint": checkpoint.note,
        "log_key": log_verifier_key(checkpoint.key),
        "leaf_index": proof["leaf_index"],
        "proof": proof["proof"],
    }
