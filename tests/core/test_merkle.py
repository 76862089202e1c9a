"""The ledger's Merkle tree (RFC 9162), checkpoints and cosignatures (C2SP signed notes)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.ledger import entry_from_dict, new_entry, public_key_raw, verify_chain
from utfall.core.ledger.merkle import (
    consistency_proof,
    entry_leaf,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from utfall.core.ledger.note import (
    Checkpoint,
    checkpoint_parse,
    cosignature_time,
    key_hash,
    note_cosign,
    note_parse,
    note_sign,
    note_verify,
    note_verify_cosignature,
    verifier_key,
    verifier_key_parse,
)

# The test tree of the Certificate Transparency reference implementations (RFC 6962 §2.1;
# certificate-transparency-go merkletree tests, transparency-dev/merkle testonly/constants.go).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # (leaf, tree size) → audit path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {  # (first, second) → proof
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def hashes(count: int) -> list[bytes]:
    return [leaf_hash(CT_LEAVES[i]) for i in range(count)]


@pytest.mark.parametrize("size", range(9))
def test_root_hashes_match_the_certificate_transparency_vectors(size):
    assert root_hash(hashes(size)).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_proofs_match_the_vectors(index, size):
    proof = inclusion_proof(hashes(size), index)
    assert [p.hex() for p in proof] == CT_INCLUSION[(index, size)]
    root = bytes.fromhex(CT_ROOTS[size])
    assert verify_inclusion(index, size, leaf_hash(CT_LEAVES[index]), proof, root)


@pytest.mark.parametrize(("first", "second"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_match_the_vectors(first, second):
    proof = consistency_proof(hashes(second), first)
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(first, second)]
    assert verify_consistency(
        first, second, bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second]), proof
    )


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(f"leaf {i}".encode()) for i in range(count)]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70))
def test_every_inclusion_proof_of_every_leaf_verifies(size):
    leaves = _leaves(size)
    root = root_hash(leaves)
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert len(proof) <= max(1, size - 1).bit_length()  # O(log n)
        assert verify_inclusion(index, size, leaves[index], proof, root)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=48))
def test_every_consistency_proof_between_sizes_verifies(second):
    leaves = _leaves(second)
    new_root = root_hash(leaves)
    for first in range(second + 1):
        proof = consistency_proof(leaves, first)
        assert verify_consistency(first, second, root_hash(leaves[:first]), new_root, proof)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_tampered_inclusion_proof_fails(data):
    size = data.draw(st.integers(min_value=2, max_value=40))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    leaves = _leaves(size)
    root = root_hash(leaves)
    proof = inclusion_proof(leaves, index)
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    assert not verify_inclusion(index, size, leaves[other], proof, root)  # another leaf
    assert not verify_inclusion(other, size, leaves[index], proof, root)  # another place
    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ (1 << (bit % 8))]) + changed[position][1:]
    assert not verify_inclusion(index, size, leaves[index], changed, root)
    assert not verify_inclusion(index, size, leaves[index], proof[:-1], root)
    assert not verify_inclusion(index, size, leaves[index], [*proof, proof[0]], root)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_changed_history_fails_the_consistency_proof(data):
    second = data.draw(st.integers(min_value=2, max_value=40))
    first = data.draw(st.integers(min_value=1, max_value=second - 1))
    leaves = _leaves(second)
    changed_at = data.draw(st.integers(min_value=0, max_value=first - 1))
    rewritten = list(leaves)
    rewritten[changed_at] = leaf_hash(b"rewritten")
    proof = consistency_proof(rewritten, first)
    # The witness remembers the old root; the log now serves a history that differs in it.
    assert not verify_consistency(
        first, second, root_hash(leaves[:first]), root_hash(rewritten), proof
    )
    honest = consistency_proof(leaves, first)
    if honest:
        wrong = list(honest)
        wrong[0] = leaf_hash(b"x")
        assert not verify_consistency(
            first, second, root_hash(leaves[:first]), root_hash(leaves), wrong
        )


def test_malformed_proofs_are_refused_before_hashing():
    leaves = _leaves(4)
    with pytest.raises(ValueError, match="at most 128 hashes"):
        verify_inclusion(0, 4, leaves[0], [leaves[1]] * 129, root_hash(leaves))
    with pytest.raises(ValueError, match="32-byte hash"):
        verify_inclusion(0, 4, leaves[0], [b"short"], root_hash(leaves))
    assert not verify_inclusion(4, 4, leaves[0], [], root_hash(leaves))
    assert not verify_consistency(3, 2, root_hash(leaves), root_hash(leaves), [])


def test_entry_leaves_are_the_canonical_entries():
    entry = new_entry(
        None,
        kind="import",
        subject="x",
        data_sha256="0" * 64,
        actor="a",
        recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
        contract="c-1",
    )
    assert entry_leaf(entry).startswith(b'{"actor":"a"')
    assert b'"contract":"c-1"' in entry_leaf(entry)


# ----------------------------------------------------------------------------- ledger entry format 2


def test_format_two_entries_hash_their_contract_and_format_one_still_verifies():
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    entry = new_entry(
        None,
        kind="import",
        subject="x",
        data_sha256="1" * 64,
        actor="a",
        recorded_at=moment,
        contract="norrkoping",
    )
    assert entry.as_dict()["entry_version"] == 2
    moved = entry_from_dict({**entry.as_dict(), "contract": "another"})
    assert verify_chain([moved]), "changing the contract breaks the hash"
    # A format 1 entry (written before contract was hashed) keeps verifying under its rule.
    old = {k: v for k, v in entry.as_dict().items() if k not in ("entry_version", "contract")}
    old["hash"] = hashlib.sha256(
        b'{"actor":"a","attributes":{},"data_sha256":"' + b"1" * 64 + b'","kind":"import",'
        b'"previous_hash":"' + b"0" * 64 + b'","recorded_at":"2024-01-01T00:00:00.000000Z",'
        b'"sequence":0,"subject":"x"}'
    ).hexdigest()
    assert verify_chain([entry_from_dict(old)]) == []
    second = new_entry(
        entry_from_dict(old),
        kind="import",
        subject="y",
        data_sha256="2" * 64,
        actor="a",
        recorded_at=moment + timedelta(seconds=1),
    )
    assert verify_chain([entry_from_dict(old), second]) == []
    with pytest.raises(ValueError, match="entry_version"):
        entry_from_dict({**entry.as_dict(), "entry_version": 3})


# ----------------------------------------------------------------------------- notes


KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))


def test_a_checkpoint_is_a_c2sp_signed_note():
    checkpoint = Checkpoint("example.org/log", 8, bytes.fromhex(CT_ROOTS[8]))
    text = checkpoint.text()
    assert text == (
        "example.org/log\n8\n" + base64.b64encode(bytes.fromhex(CT_ROOTS[8])).decode() + "\n"
    )
    line = note_sign(text, name="example.org/log", private_key=KEY)
    note = text + "\n" + line.line()
    assert line.line().startswith("\u2014 example.org/log ")
    raw = public_key_raw(KEY)
    expected_hash = hashlib.sha256(b"example.org/log\n\x01" + raw).digest()[:4]
    assert base64.b64decode(line.line().split()[-1])[:4] == expected_hash
    body, signatures = note_parse(note)
    assert body == text
    assert checkpoint_parse(body) == checkpoint
    assert note_verify(body, signatures, name="example.org/log", public_key=raw)
    assert not note_verify(
        body.replace("\n8\n", "\n9\n"), signatures, name="example.org/log", public_key=raw
    )
    assert not note_verify(
        body, signatures, name="example.org/log", public_key=public_key_raw(WITNESS)
    )
    name, kind, key = verifier_key_parse(verifier_key("example.org/log", raw))
    assert (name, kind, key) == ("example.org/log", 1, raw)


def test_a_witness_cosignature_is_bound_to_its_time_and_text():
    text = Checkpoint("example.org/log", 3, bytes.fromhex(CT_ROOTS[3])).text()
    cosignature = note_cosign(text, name="auditor", private_key=WITNESS, timestamp=1_700_000_000)
    raw = public_key_raw(WITNESS)
    assert cosignature.key_hash == key_hash("auditor", 0x04, raw)
    assert cosignature_time(cosignature) == 1_700_000_000
    assert note_verify_cosignature(text, cosignature, public_key=raw)
    assert not note_verify_cosignature(text.replace("\n3\n", "\n4\n"), cosignature, public_key=raw)
    _, [parsed] = note_parse(text + "\n" + cosignature.line())
    assert note_verify_cosignature(text, parsed, public_key=raw)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("origin\n1\nAAAA\n", "blank line"),
        ("origin\n1\n\n\u2014 a AAAAAAA=\n", "root hash"),
        ("origin\nx\n" + "A" * 43 + "=\n\n\u2014 a AAAAAAA=\n", "tree size"),
        ("o\n1\n" + "A" * 43 + "=\n\n- a AAAAAAA=\n", "does not start"),
        ("o\n1\n" + "A" * 43 + "=\n\n\u2014 a " + "A" * 70000 + "\n", "at most 65536 bytes"),
    ],
)
def test_malformed_notes_are_refused_with_the_line(note, message):
    with pytest.raises(ValueError, match=message):
        body, _ = note_parse(note)
        checkpoint_parse(body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_note_or_a_value_error(text):
    try:
        body, signatures = note_parse(text)
        checkpoint_parse(body)
    except ValueError:
        return
    assert signatures


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**40),
    st.integers(min_value=0, max_value=2**40),
    st.lists(st.binary(min_size=32, max_size=32), max_size=40),
)
def test_arbitrary_proofs_never_crash_the_verifiers(index, size, proof):
    leaf = leaf_hash(b"x")
    assert verify_inclusion(index, size, leaf, proof, leaf) in (True, False)
    assert verify_consistency(index, size, leaf, leaf, proof) in (True, False)
