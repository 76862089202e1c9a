"""Tampering with a settlement bundle: every part, any byte, and a forger with their own key."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_bundles import data_bundle, data_project

from utfall.adapters.bundles import keys_generate, private_key_load, public_key_load
from utfall.adapters.files import contract_read, facts_read
from utfall.core.ledger import (
    b64encode,
    canonical_sha256,
    key_fingerprint,
    public_key_raw,
    sign_message,
    signing_message,
)
from utfall.errors import BundleUnreadable
from utfall.services.bundles import bundle_create, bundle_render, bundle_verify
from utfall.services.contracts import facts_parse

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
NOW = datetime(2022, 1, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return keys_generate(tmp_path_factory.mktemp("keys"))


def _bundle(private_key, facts) -> bytes:
    return bundle_create(
        contract=contract_read(CONTRACT),
        contract_file=CONTRACT.name,
        facts=facts,
        tables=None,
        until=None,
        overrides={},
        private_key=private_key,
        now=NOW,
    ).data


@pytest.fixture(scope="module")
def original(keys) -> bytes:
    return _bundle(private_key_load(keys.private_path), facts_read(FACTS))


def _find(tree, name):
    """The explanation node called ``name`` (depth first)."""
    if tree.get("name") == name:
        return tree
    for child in tree.get("children", []):
        found = _find(child, name)
        if found:
            return found
    return None


def contract_text(data):
    data["contract"]["text"] = data["contract"]["text"].replace("default: 0.40", "default: 0.45", 1)


def facts(data):
    data["facts"]["text"] = data["facts"]["text"].replace("10850000.00", "11850000.00")


def result_figure(data):
    data["settlement"]["outputs"]["premium_sek"] = "850001.00"


def payment_amount(data):
    data["settlement"]["payments"][1]["amount_sek"] = "950000.00"


def statement(data):
    data["statement"]["payments"][0]["amount_sek"] = "10000001.00"


def ledger_entry(data):
    data["ledger"][1]["actor"] = "mallory"


def signature(data):
    value = bytearray(base64.b64decode(data["signature"]["value"]))
    value[10] ^= 0x01
    data["signature"]["value"] = b64encode(bytes(value))


def public_key(data):
    other = Ed25519PrivateKey.generate()
    data["signature"]["public_key"] = b64encode(public_key_raw(other))


def explanation(data):
    tree = data["settlement"]["explanation"]["repayment"]
    _find(tree, "guaranteed_sek")["value"] = "4000001.00"


# (what is changed, the message that must name it)
TAMPERING = [
    (contract_text, "contract: the contract text was changed: its SHA-256 is"),
    (contract_text, "parts: contract was changed after signing"),
    (
        contract_text,
        "recomputation: parameters.guarantee_share: the bundle says '0.4', recomputed '0.45'",
    ),
    (facts, "parts: facts was changed after signing"),
    (facts, "ledger: no import entry records the facts 'norrkoping-placed-children.yaml'"),
    (
        facts,
        "recomputation: inputs.net_savings_sek: the bundle says '10850000.00', recomputed '11850000.00'",
    ),
    (
        result_figure,
        "recomputation: outputs.premium_sek: the bundle says '850001.00', recomputed '850000.00'",
    ),
    (result_figure, "parts: settlement was changed after signing"),
    (
        payment_amount,
        "recomputation: payments[premium].amount_sek: the bundle says '950000.00', recomputed '850000.00'",
    ),
    (
        payment_amount,
        "statement: payments[premium].amount_sek: the statement says '850000.00', the settlement says '950000.00'",
    ),
    (statement, "signature: the Ed25519 signature does not match the statement"),
    (statement, "statement: payments[repayment].amount_sek: the statement says '10000001.00'"),
    (ledger_entry, "ledger: ledger entry 1: its content does not match its hash"),
    (signature, "signature: the Ed25519 signature does not match the statement"),
    (public_key, "signature: the Ed25519 signature does not match the statement"),
    (public_key, "statement: names signer key"),
    (
        explanation,
        "recomputation: explanation.repayment.children[repayment_sek].children[guaranteed_sek].value: the bundle says '4000001.00', recomputed '4000000.00'",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    TAMPERING,
    ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(TAMPERING)],
)
def test_each_tampered_part_is_named(original, change, message):
    data = json.loads(original)
    change(data)
    report = bundle_verify(bundle_render(data))  # the tamperer keeps the canonical layout
    assert not report.ok
    assert any(d.startswith(message) for d in report.differences), "\n".join(report.differences)


def test_the_embedded_key_cannot_stand_in_for_the_evaluators_key(original, keys):
    data = json.loads(original)
    public_key(data)
    report = bundle_verify(bundle_render(data), public_key=public_key_load(keys.public_path))
    assert any("signature: the bundle was signed with key" in d for d in report.differences)


def test_a_forger_who_re_signs_with_their_own_key(keys):
    """A consistent forgery: new facts, settled and hashed again, signed with another key.

    Verification with the embedded key cannot tell (and says it proves only
    integrity); with the evaluator's public key it fails.
    """
    forger = Ed25519PrivateKey.generate()
    text = FACTS.read_text(encoding="utf-8").replace("10850000.00", "15000000.00")
    forged = _bundle(forger, facts_parse(text, source=FACTS.name))
    embedded = bundle_verify(forged)
    assert embedded.ok
    assert embedded.key_fingerprint == key_fingerprint(public_key_raw(forger))
    assert any("not who signed it" in n for n in embedded.notes)
    evaluator = bundle_verify(forged, public_key=public_key_load(keys.public_path))
    assert not evaluator.ok
    assert any("signature: the bundle was signed with key" in d for d in evaluator.differences)


def test_a_statement_re_signed_by_the_forger_still_fails_recomputation(original):
    """Payments changed, every hash fixed up and re-signed: the figures do not recompute."""
    forger = Ed25519PrivateKey.generate()
    data = json.loads(original)
    data["settlement"]["payments"][1]["amount_sek"] = "2000000.00"
    data["statement"]["payments"][1]["amount_sek"] = "2000000.00"
    data["statement"]["parts"]["settlement"] = canonical_sha256(data["settlement"])
    data["statement"]["signer_key_sha256"] = key_fingerprint(public_key_raw(forger))
    data["ledger"][-1]["data_sha256"] = canonical_sha256(data["settlement"])
    # (the ledger entry's own hash is now wrong too; the forger would have to redo the chain)
    data["signature"]["public_key"] = b64encode(public_key_raw(forger))
    data["signature"]["value"] = b64encode(sign_message(forger, signing_message(data["statement"])))
    report = bundle_verify(bundle_render(data))
    assert not any(d.startswith("signature:") for d in report.differences)
    assert any(
        "recomputation: payments[premium].amount_sek: the bundle says '2000000.00', "
        "recomputed '850000.00'" in d
        for d in report.differences
    )


def test_editing_the_layout_alone_is_noticed(original):
    report = bundle_verify(original.replace(b'\n"format":"', b'\n"format": "', 1))
    assert [d.split(":")[0] for d in report.differences] == ["layout"]
    assert "(line 5, column 10)" in report.differences[0]


def _positions(bundle: bytes) -> list[int]:
    """Positions to flip: every fourth byte of the small parts (format, ledger, overrides,
    signature, statement, the braces; from an offset drawn per line) and a sample of the
    large ones (contract, facts, settlement); the seed is fixed."""
    rng = random.Random(8785)
    positions: set[int] = set()
    offset = 0
    for line in bundle.splitlines(keepends=True):
        span = range(offset, offset + len(line))
        if len(line) > 4000:
            positions.update(rng.sample(span, k=120))
        else:
            positions.update(span[rng.randrange(4) :: 4])
        offset += len(line)
    return sorted(positions)


@pytest.fixture(scope="module")
def with_tables(tmp_path_factory, keys) -> bytes:
    """An --include-data bundle of a small contract settled from its own tables."""
    root = data_project(tmp_path_factory.mktemp("data") / "project")
    return data_bundle(root, private_key_load(keys.private_path), include_data=True).data


@pytest.fixture(params=["facts", "tables"])
def bundle(request, original, with_tables) -> bytes:
    return original if request.param == "facts" else with_tables


def test_flipping_any_single_byte_fails_verification(bundle):
    """No flipped byte leaves a bundle that verifies.

    Layout, hashes, chain and signature alone must catch every flip
    (recomputation is a further check, exercised by the tests above), so this
    runs the fast checks on many positions; tests/cli flips a few through the
    console script with every check on. An included table's bytes are bound by
    the digest the signed evaluations part records.
    """
    positions = _positions(bundle)
    unreadable = 0
    for position in positions:
        flipped = bytearray(bundle)
        flipped[position] ^= 0x01
        try:
            report = bundle_verify(bytes(flipped), recompute=False)
        except BundleUnreadable:
            unreadable += 1
            continue
        assert not report.ok, f"flipping byte {position} went unnoticed"
    assert len(positions) > 800
    assert 0 < unreadable < len(positions)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def test_any_value_replaced_by_any_other_is_caught_and_never_crashes(bundle):
    """Replace one value anywhere in the bundle by another JSON value (of any type): verify
    reports a difference or refuses the file, and never stops with another exception.

    The one change that is no difference: the included tables all left out (``tables``
    set to ``{}``), which makes the bundle the one without the data."""
    rng = random.Random(8032)
    replacements = [None, True, False, 0, -1, 2**60, 1.5, "", "x", [], {}, [1], {"a": 1}]
    replacements += ["0" * 64, "10000000.00", "Återbetalning", "2020-12-31"]
    document = json.loads(bundle)
    places = [p for p in _paths(document) if p]
    changed = 0
    for _ in range(200):
        data = json.loads(bundle)
        place = rng.choice(places)
        target = data
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = rng.choice(replacements)
        if canonical_sha256(data) == canonical_sha256(document):
            continue  # replaced by an equal value
        changed += 1
        try:
            report = bundle_verify(bundle_render(data), recompute=rng.random() < 0.05)
        except BundleUnreadable:
            continue
        if place == ("tables",) and data["tables"] == {}:
            assert report.ok, report.differences
            continue
        assert not report.ok, f"replacing {place} went unnoticed"
    assert changed > 170


# ----------------------------------------------------------------------------- tables


def _forge(data, forger):
    """Fix up every hash after a change to the signed parts and sign with ``forger``."""
    for part in ("evaluations", "settlement", "facts", "contract", "overrides"):
        data["statement"]["parts"][part] = canonical_sha256(data[part])
    data["statement"]["signer_key_sha256"] = key_fingerprint(public_key_raw(forger))
    data["signature"]["public_key"] = b64encode(public_key_raw(forger))
    data["signature"]["value"] = b64encode(sign_message(forger, signing_message(data["statement"])))
    return bundle_render(data)


def test_a_table_changed_with_its_digest_fixed_up_is_named(with_tables):
    """A cell changed, its digest in the evaluations part fixed up: the part's hash fails,
    and the ledger no longer records the table's digest."""
    data = json.loads(with_tables)
    data["tables"]["savings"] = data["tables"]["savings"].replace("200.50", "900.50")
    new = hashlib.sha256(data["tables"]["savings"].encode()).hexdigest()
    for item in data["evaluations"][0]["tables"]:
        if item["table"] == "savings":
            item["sha256"] = new
    report = bundle_verify(bundle_render(data))
    assert any(
        d.startswith("parts: evaluations was changed after signing") for d in report.differences
    )
    assert any(
        d == f"ledger: no import entry records table 'savings' with SHA-256 {new}"
        for d in report.differences
    ), report.differences
    assert any(
        d.startswith("evaluations: saved: the explanation of saving_sek names the tables")
        for d in report.differences
    ), report.differences
    assert any(
        "recomputation: inputs.saving_sek: the bundle says '350.75', recomputed '1050.75'" in d
        for d in report.differences
    ), report.differences


def test_a_forged_evaluations_part_that_is_not_the_contracts_is_named(with_tables):
    forger = Ed25519PrivateKey.generate()
    data = json.loads(with_tables)
    data["evaluations"][1]["inputs"] = ["saving_sek"]
    data["evaluations"][0]["as_of"] = "2020-12-31"
    report = bundle_verify(_forge(data, forger))
    assert not any(d.startswith(("signature:", "parts:")) for d in report.differences)
    assert any(
        d.startswith("evaluations: evaluations[enrolled].inputs[0]: the bundle says 'saving_sek'")
        for d in report.differences
    ), report.differences
    assert any(
        d == "evaluations: the evaluations took their data on different days: 2020-12-31, None"
        for d in report.differences
    ), report.differences


def test_rows_counted_wrong_are_named(with_tables):
    forger = Ed25519PrivateKey.generate()
    data = json.loads(with_tables)
    data["evaluations"][0]["tables"][0]["rows"] = 4
    report = bundle_verify(_forge(data, forger))
    assert any(
        d.startswith("tables: table 'savings' read under the contract's declaration has 3 row(s)")
        for d in report.differences
    ), report.differences
