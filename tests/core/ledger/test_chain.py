"""The hash chain: building, reading back, and detecting every kind of change."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.ledger import (
    GENESIS,
    KIND_CONTRACT_VERSION,
    KIND_IMPORT,
    KIND_SETTLEMENT,
    LedgerEntry,
    entry_from_dict,
    format_time,
    new_entry,
    parse_time,
    verify_chain,
)

T0 = datetime(2021, 12, 31, 12, 0, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build(count: int = 4) -> list[LedgerEntry]:
    kinds = [KIND_CONTRACT_VERSION, KIND_IMPORT, KIND_IMPORT, KIND_SETTLEMENT]
    entries: list[LedgerEntry] = []
    for index in range(count):
        entries.append(
            new_entry(
                entries[-1] if entries else None,
                kind=kinds[index % len(kinds)],
                subject=f"event {index}",
                data_sha256=sha(f"data {index}"),
                actor="evaluator",
                recorded_at=T0 + timedelta(minutes=index),
                attributes={"file": f"f{index}.yaml", "n": index},
            )
        )
    return entries


def test_a_fresh_chain_holds_and_links_to_genesis():
    entries = build()
    assert verify_chain(entries) == []
    assert entries[0].previous_hash == GENESIS
    assert [e.sequence for e in entries] == [0, 1, 2, 3]
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.hash


def test_the_hash_is_sha256_of_the_canonical_content():
    # Independent oracle: ASCII keys and no floats, so JCS equals sorted compact json.dumps.
    entry = build(1)[0]
    content = json.dumps(entry.content(), sort_keys=True, separators=(",", ":")).encode()
    assert entry.hash == hashlib.sha256(content).hexdigest()
    assert entry.content()["recorded_at"] == "2021-12-31T12:00:00.000000Z"


def test_entries_round_trip_through_json():
    entries = build()
    again = [entry_from_dict(json.loads(json.dumps(e.as_dict()))) for e in entries]
    assert again == entries
    assert verify_chain(again) == []


def test_times_are_one_form_only():
    stockholm = timezone(timedelta(hours=1))
    moment = datetime(2021, 12, 31, 13, 0, tzinfo=stockholm)
    assert format_time(moment) == "2021-12-31T12:00:00.000000Z"
    assert parse_time("2021-12-31T12:00:00.000000Z") == moment
    for text in ("2021-12-31T12:00:00Z", "2021-12-31T12:00:00.000000+00:00", "2021-12-31"):
        with pytest.raises(ValueError, match="not a ledger time"):
            parse_time(text)
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2021, 1, 1))


def test_new_entry_refuses_bad_input():
    first = build(1)[0]
    with pytest.raises(ValueError, match="64 lower-case hex"):
        new_entry(None, kind="import", subject="x", data_sha256="ABC", actor="a", recorded_at=T0)
    with pytest.raises(ValueError, match="before the previous entry"):
        new_entry(
            first,
            kind="import",
            subject="x",
            data_sha256=sha("x"),
            actor="a",
            recorded_at=T0 - timedelta(seconds=1),
        )
    with pytest.raises(ValueError, match="Decimal is not a JSON value"):
        from decimal import Decimal

        new_entry(
            None,
            kind="import",
            subject="x",
            data_sha256=sha("x"),
            actor="a",
            recorded_at=T0,
            attributes={"amount": Decimal("1.00")},
        )


def test_entry_from_dict_is_strict():
    good = build(1)[0].as_dict()
    for change, message in (
        ({"extra": 1}, "unknown field"),
        ({"sequence": -1}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"hash": good["hash"].upper()}, "hash must be 64"),
        ({"recorded_at": "yesterday"}, "not a ledger time"),
        ({"attributes": []}, "attributes"),
        ({"attributes": {"n": 2**53 + 1}}, "attributes cannot be hashed"),
    ):
        with pytest.raises(ValueError, match=message):
            entry_from_dict({**good, **change})
    incomplete = dict(good)
    del incomplete["actor"]
    with pytest.raises(ValueError, match=r"missing field.*actor"):
        entry_from_dict(incomplete)


def test_removed_reordered_and_inserted_entries_are_found():
    entries = build(5)
    removed = entries[:2] + entries[3:]
    assert any("links to" in str(p) for p in verify_chain(removed))
    swapped = [entries[0], entries[2], entries[1], *entries[3:]]
    assert verify_chain(swapped)
    assert verify_chain(entries[1:])  # a slice does not start at genesis
    assert verify_chain(entries[1:], previous_hash=None) == []
    assert verify_chain(entries[2:], previous_hash=entries[1].hash) == []
    assert verify_chain(entries[2:], previous_hash=entries[0].hash)


def test_a_rewritten_tail_with_fresh_hashes_still_breaks_at_the_seam():
    entries = build(4)
    forged = dataclasses.replace(entries[2], actor="mallory")
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    problems = verify_chain([*entries[:2], forged, entries[3]])
    assert [p.sequence for p in problems] == [3]
    assert "links to" in problems[0].message


_FIELD_VALUES = {
    "sequence": st.integers(min_value=0, max_value=50),
    "kind": st.sampled_from(["contract_version", "import", "settlement", "statement", "x"]),
    "subject": st.text(max_size=10),
    "data_sha256": st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()),
    "actor": st.text(min_size=1, max_size=8),
    "recorded_at": st.integers(min_value=-(10**6), max_value=10**6).map(
        lambda s: T0 + timedelta(seconds=s)
    ),
    "previous_hash": st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()),
    "attributes": st.dictionaries(
        st.text(max_size=4), st.integers(min_value=-(2**53), max_value=2**53), max_size=3
    ),
    "hash": st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()),
}


@settings(max_examples=300)
@given(
    index=st.integers(min_value=0, max_value=4),
    field=st.sampled_from(sorted(_FIELD_VALUES)),
    data=st.data(),
)
def test_any_single_entry_modification_is_detected(index, field, data):
    entries = build(5)
    value = data.draw(_FIELD_VALUES[field])
    if getattr(entries[index], field) == value:
        return  # not a modification
    changed = list(entries)
    changed[index] = dataclasses.replace(entries[index], **{field: value})
    assert verify_chain(changed), f"changing {field} of entry {index} went unnoticed"


def test_an_entry_whose_content_cannot_be_hashed_is_a_problem_not_a_crash():
    entry = dataclasses.replace(build(1)[0], attributes={"n": 2**53 + 1})
    (problem,) = verify_chain([entry])
    assert problem.message.startswith("its content cannot be hashed")
    assert "not exactly a double" in problem.message
