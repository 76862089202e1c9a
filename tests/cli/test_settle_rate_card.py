"""The IPS rate-card contract end to end through the console script's entry point.

``utfall synth ips`` writes participants.csv and events.csv; ``utfall settle --data-dir``
settles the contract from them (CSV or Parquet, by table name) with no facts at all,
the figure equal to the service's on the same files; bad data exits 2 naming the
file, row and column.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.contracts import contract_settle

CONTRACT = Path("examples/contracts/ips-employment-rate-card.yaml")
FACTS = Path("examples/facts/ips-employment-rate-card.yaml")


@pytest.fixture(scope="module")
def data(utfall, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ips")
    result = utfall("synth", "ips", "--out", out, "--size", "250", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert {"participants", "events"} <= set(result.stdout.split())
    return out


def _json(result) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_settles_from_the_data_alone(utfall, data, root):
    settled = _json(utfall("settle", CONTRACT, "--data-dir", data, "--json", "--explain"))
    outputs = settled["outputs"]
    payments = {p["id"]: Decimal(p["amount_sek"]) for p in settled["payments"]}
    assert sum(payments.values()) == Decimal(outputs["payable_sek"])
    assert Decimal(outputs["region_pays_sek"]) == (
        Decimal("0.5") * Decimal(outputs["payable_sek"])
    ).quantize(Decimal("0.01"))
    # The same figure as the service computes on the same files.
    contract = contract_read(root / CONTRACT)
    run = contract_settle(contract, tables=DirectoryTables(data, contract.data))
    from_service = run.settlement.inputs["outcome_payments_sek"]
    assert Decimal(settled["inputs"]["outcome_payments_sek"]) == from_service
    text = json.dumps(settled)
    assert "rate_card" in text and "events_not_paid" in text and "outcomes_paid" in text


def test_the_explanation_names_the_tables_and_the_uncounted(utfall, data):
    result = utfall("settle", CONTRACT, "--data-dir", data, "--explain")
    assert result.returncode == 0, result.stderr
    for word in ("rate_card", "events_not_paid", "duplicate", "prices_sek", "participants"):
        assert word in result.stdout, word


def test_a_what_if_cap_is_reached_to_the_ore(utfall, data):
    settled = _json(
        utfall("settle", CONTRACT, "--data-dir", data, "--json", "--param", "cap_sek=1000000.01")
    )
    assert settled["outputs"]["payable_sek"] == "1000000.01"
    assert settled["outputs"]["region_pays_sek"] == "500000.01"
    assert settled["outputs"]["samordningsforbund_pays_sek"] == "500000.00"


def test_parquet_by_table_name_settles_the_same(utfall, data, tmp_path):
    for name in ("participants", "events"):
        pq.write_table(pacsv.read_csv(data / f"{name}.csv"), tmp_path / f"{name}.parquet")
    from_csv = _json(utfall("settle", CONTRACT, "--data-dir", data, "--json"))
    from_parquet = _json(utfall("settle", CONTRACT, "--data-dir", tmp_path, "--json"))
    assert from_parquet["outputs"] == from_csv["outputs"]


def test_facts_alone_settle_too(utfall):
    settled = _json(utfall("settle", CONTRACT, "--facts", FACTS, "--json"))
    assert settled["outputs"]["payable_sek"] == "4826500.00"
    assert utfall("contract", "test", CONTRACT).returncode == 0


def test_an_unknown_outcome_is_refused_by_file_row_and_column(utfall, data, tmp_path):
    rows = list(csv.reader((data / "events.csv").open(encoding="utf-8")))
    rows[3][1] = "in_work_52_weeks"
    with (tmp_path / "events.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    (tmp_path / "participants.csv").write_bytes((data / "participants.csv").read_bytes())
    result = utfall("settle", CONTRACT, "--data-dir", tmp_path, "--json")
    assert result.returncode == 2
    message = result.stderr + result.stdout
    assert "events.csv" in message and "in_work_52_weeks" in message
    assert "outcome" in message and "4" in message  # the file's line 4 (row 3 under the header)


def test_a_missing_events_file_is_named(utfall, data, tmp_path):
    (tmp_path / "participants.csv").write_bytes((data / "participants.csv").read_bytes())
    result = utfall("settle", CONTRACT, "--data-dir", tmp_path)
    assert result.returncode == 2
    assert "events.csv" in result.stderr + result.stdout
