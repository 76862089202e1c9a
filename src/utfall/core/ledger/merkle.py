"""The ledger as a Merkle tree: RFC 9162 (Certificate Transparency v2) §2.1, SHA-256.

The leaves are the ledger entries in order; a leaf's data is the canonical JSON
(RFC 8785) of the entry with its hash (:func:`entry_leaf`). A tree of ``n``
leaves has one root hash (:func:`root_hash`), the same for everyone who holds
the same ``n`` entries; an *inclusion proof* shows that one entry is leaf ``m``
of the tree with a given root, a *consistency proof* that the tree of size ``m``
is the first ``m`` leaves of the tree of size ``n`` (nothing was changed or taken
out, only added). Both verify in O(log n) hashes, without the other leaves.

Hashes (RFC 9162 §2.1.1)::

    MTH({})      = SHA-256()
    leaf hash    = SHA-256(0x00 || data)
    node hash    = SHA-256(0x01 || left || right)

Proof generation follows §2.1.3.1 (PATH) and §2.1.4.1 (PROOF / SUBPROOF) over
the leaf hashes; verification follows the iterative algorithms of §2.1.3.2 and
§2.1.4.2. Pure: bytes in, bytes out. Malformed input raises ``ValueError``;
a proof that does not hold makes the verifier return ``False``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from utfall.core.ledger.canonical import canonical_json
from utfall.core.ledger.chain import LedgerEntry

__all__ = [
    "HASH_SIZE",
    "MAX_PROOF_LENGTH",
    "consistency_proof",
    "entry_leaf",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
MAX_PROOF_LENGTH = 128
"""A proof longer than this cannot belong to a tree of fewer than 2**63 leaves (a proof has
at most 2·log2(n) hashes); longer ones are refused before any hashing."""

_EMPTY = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def entry_leaf(entry: LedgerEntry) -> bytes:
    """The leaf data of a ledger entry: the canonical JSON of its content and hash."""
    return canonical_json(entry.as_dict())


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    for index, value in enumerate(hashes):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ValueError(f"{what}[{index}] is not a {HASH_SIZE}-byte hash")


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) over leaf hashes."""
    count = end - start
    if count == 0:
        return _EMPTY
    if count == 1:
        return leaves[start]
    k = _split(count)
    return node_hash(_mth(leaves, start, start + k), _mth(leaves, start + k, end))


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (root) of the tree with these leaf hashes, oldest first."""
    _check_hashes(leaf_hashes, "leaf hash")
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 §2.1.3.1): the audit path of leaf ``index``."""
    _check_hashes(leaf_hashes, "leaf hash")
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")

    def path(m: int, start: int, end: int) -> list[bytes]:
        count = end - start
        if count == 1:
            return []
        k = _split(count)
        if m < k:
            return [*path(m, start, start + k), _mth(leaf_hashes, start + k, end)]
        return [*path(m - k, start + k, end), _mth(leaf_hashes, start, start + k)]

    return path(index, 0, size)


def consistency_proof(leaf_hashes: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(first, D[n]) (RFC 9162 §2.1.4.1): that the first ``first`` leaves are a prefix.

    ``first`` = 0 or ``first`` = n give the empty proof.
    """
    _check_hashes(leaf_hashes, "leaf hash")
    size = len(leaf_hashes)
    if not 0 <= first <= size:
        raise ValueError(f"a tree of {first} leaves cannot precede one of {size}")
    if first in (0, size):
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        count = end - start
        if m == count:
            return [] if whole else [_mth(leaf_hashes, start, end)]
        k = _split(count)
        if m <= k:
            return [*subproof(m, start, start + k, whole), _mth(leaf_hashes, start + k, end)]
        return [*subproof(m - k, start + k, end, False), _mth(leaf_hashes, start, start + k)]

    return subproof(first, 0, size, True)


def _check_proof(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_LENGTH:
        raise ValueError(f"a proof has at most {MAX_PROOF_LENGTH} hashes, this one {len(proof)}")
    _check_hashes(proof, "proof")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or ``None`` when the proof has
    the wrong shape for leaf ``index`` of a tree of ``size`` leaves."""
    _check_proof(proof)
    _check_hashes([leaf], "leaf hash")
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows that the leaf hash ``leaf`` is leaf ``index`` of the tree of
    ``size`` leaves whose root is ``root``."""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows that the tree (``first``, ``first_root``) is a prefix of the tree
    (``second``, ``second_root``) (RFC 9162 §2.1.4.2)."""
    _check_proof(proof)
    _check_hashes([first_root, second_root], "root")
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_result = node_hash(node, first_result)
            second_result = node_hash(node, second_result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second_result = node_hash(second_result, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_result == first_root and second_result == second_root
