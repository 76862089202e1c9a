"""A bundle of a reference contract settled from its synthetic tables, verified by re-running it.

Synthetic Norrköping data (20 children) as the contract declares its tables, the
contract's own evaluations with a 49-replicate bootstrap (instead of 999, for
speed), as of a day inside the follow-up.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from utfall.adapters.bundles import keys_generate, private_key_load
from utfall.adapters.files import DirectoryTables
from utfall.core.contracts import parse_contract
from utfall.services.bindings import evaluation_tables
from utfall.services.bundles import bundle_create, bundle_render, bundle_verify
from utfall.services.tables import ArrowTables

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
DAY = dt.date(2019, 12, 31)

pytestmark = pytest.mark.slow  # about 20 s: data generation and three evaluations, twice


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from utfall.synth import generate

    root = tmp_path_factory.mktemp("project")
    generate("norrkoping", root / "data", size=20, seed=7)
    text = CONTRACT.read_text(encoding="utf-8")
    assert text.count("reps: 999") == 1
    contract = parse_contract(text.replace("reps: 999", "reps: 49"), source="norrkoping.yaml")
    key = private_key_load(keys_generate(root / "keys").private_path)
    return root, contract, key


def _bundle(contract, key, tables, *, include_data):
    return bundle_create(
        contract=contract,
        contract_file="norrkoping.yaml",
        facts=None,
        tables=tables,
        until=DAY,
        overrides={},
        private_key=key,
        now=datetime(2022, 1, 10, tzinfo=UTC),
        include_data=include_data,
    )


def test_a_bundle_from_tables_is_re_evaluated_by_the_verifier(project):
    root, contract, key = project
    written = _bundle(
        contract, key, DirectoryTables(root / "data", contract.data), include_data=True
    )
    data = json.loads(written.data)
    # In the order of the inputs that take them (issue 17: the pre/post school change pays,
    # the DiD is the alternative term, delivery is the evaluator's attestations).
    assert [e["evaluation"] for e in data["evaluations"]] == [
        "drawn",
        "costs",
        "school_change",
        "school",
        "delivery",
    ]
    assert [t["table"] for t in data["evaluations"][1]["tables"]] == [
        "cost_records",
        "participants",
        "price_index",
    ]
    assert sorted(data["tables"]) == [
        "cost_records",
        "cost_reports",
        "delivery_attestations",
        "participants",
        "price_index",
        "school_results",
    ]
    report = bundle_verify(written.data)
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the tables as of 2019-12-31" in n for n in report.notes)

    # The evaluated saving changed after the fact: the evaluation run again says what it is.
    recorded = data["settlement"]["inputs"]["net_savings_sek"]
    data["settlement"]["inputs"]["net_savings_sek"] = "99999999.00"
    report = bundle_verify(bundle_render(data))
    assert any(
        d == "recomputation: inputs.net_savings_sek: the bundle says '99999999.00', "
        f"recomputed '{recorded}'"
        for d in report.differences
    ), report.differences


def test_the_same_rows_held_in_memory_give_the_same_bundle(project):
    """A platform that holds the rows in memory (in another order) records the same
    evaluations part, so its bundles are checked offline the same way."""
    root, contract, key = project
    files = DirectoryTables(root / "data", contract.data)
    names = {
        t
        for e in contract.bound_evaluations()
        for t in evaluation_tables(contract, contract.evaluations[e])
    }
    reversed_rows = {
        name: files.table(name).take(pa.array(range(files.table(name).num_rows - 1, -1, -1)))
        for name in names
    }
    from_files = _bundle(contract, key, files, include_data=False)
    from_memory = _bundle(contract, key, ArrowTables(reversed_rows), include_data=False)
    assert json.loads(from_files.data)["evaluations"] == json.loads(from_memory.data)["evaluations"]
    assert from_files.data == from_memory.data
