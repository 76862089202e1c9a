"""keygen → settle --sign --bundle → verify, through the console script's entry point (a
changed payment's exit 1 through the installed script); tests/services/test_bundles*.py
cover the same ground through the services in depth.
"""

from __future__ import annotations

import json
import stat

import pytest

NORRKOPING = "examples/contracts/norrkoping-placed-children.yaml"
FACTS = "examples/facts/norrkoping-placed-children.yaml"


@pytest.fixture(scope="module")
def signed(utfall, tmp_path_factory):
    """A key pair and a bundle of the Norrköping example, made through the CLI."""
    work = tmp_path_factory.mktemp("cli")
    keys = work / "keys"
    made = utfall("keygen", "--out", keys, "--json")
    assert made.returncode == 0, made.stderr
    bundle = work / "norrkoping.bundle.json"
    settled = utfall(
        "settle",
        NORRKOPING,
        "--facts",
        FACTS,
        "--sign",
        keys / "private.pem",
        "--bundle",
        bundle,
        "--json",
    )
    assert settled.returncode == 0, settled.stdout + settled.stderr
    return {
        "keys": keys,
        "bundle": bundle,
        "keygen": json.loads(made.stdout),
        "settle": json.loads(settled.stdout),
    }


def test_keygen_and_settle(signed, utfall):
    keys = signed["keys"]
    assert stat.S_IMODE((keys / "private.pem").stat().st_mode) == 0o600
    assert (keys / "public.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    fingerprint = signed["keygen"]["public_key_sha256"]
    assert signed["settle"]["bundle"]["public_key_sha256"] == fingerprint
    assert signed["settle"]["payments"][1]["amount_sek"] == "850000.00"
    again = utfall("keygen", "--out", keys)
    assert again.returncode == 2
    assert "already there" in again.stderr


def test_verify_with_the_embedded_key_says_what_it_proves(signed, utfall, tmp_path):
    result = utfall("verify", signed["bundle"], "--extract", tmp_path / "parts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout
    assert "embedded in the bundle" in result.stdout
    assert "not who signed it" in result.stdout
    statement = json.loads((tmp_path / "parts/statement.json").read_text(encoding="utf-8"))
    assert statement["contract"] == "norrkoping-placed-children"


def test_verify_with_the_public_key(signed, utfall):
    result = utfall(
        "verify", signed["bundle"], "--public-key", signed["keys"] / "public.pem", "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["key"] == {"source": "given", "sha256": signed["keygen"]["public_key_sha256"]}
    assert [p["amount_sek"] for p in report["payments"]] == ["10000000.00", "850000.00"]
    assert all(check["ok"] for check in report["checks"])
    assert not any("not who signed it" in note for note in report["notes"])


def test_sign_and_bundle_go_together(utfall, tmp_path):
    result = utfall("settle", NORRKOPING, "--facts", FACTS, "--bundle", tmp_path / "b.json")
    assert result.returncode == 2
    assert "--sign and --bundle go together" in result.stderr


def test_a_changed_payment_exits_1_and_names_it(signed, utfall_script, tmp_path):
    text = signed["bundle"].read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(
        text.replace('"amount_sek":"850000.00"', '"amount_sek":"950000.00"', 1), encoding="utf-8"
    )
    result = utfall_script("verify", tampered)
    assert result.returncode == 1
    assert "verification failed" in result.stderr
    assert "payments[premium].amount_sek" in result.stderr


def test_an_unreadable_bundle_exits_2(utfall, tmp_path):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("this is not a bundle", encoding="utf-8")
    result = utfall("verify", garbage)
    assert result.returncode == 2
    assert "not a readable settlement bundle" in result.stderr


@pytest.mark.parametrize("where", [0.995])
def test_a_flipped_byte_never_exits_0(signed, utfall, tmp_path, where):
    data = bytearray(signed["bundle"].read_bytes())
    position = int(len(data) * where)
    data[position] ^= 0x01
    flipped = tmp_path / "flipped.json"
    flipped.write_bytes(bytes(data))
    result = utfall("verify", flipped)
    assert result.returncode in (1, 2), result.stdout


# ----------------------------------------------------------------------------- from tables

TABLES_CONTRACT = """\
id: tables-cli
title: Settled from its own tables
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: fund, name: Fund, role: financier}
  - {id: evaluator, name: Evaluator, role: evaluator}
data:
  participants:
    label: {sv: Deltagare, en: Participants}
    unit: {sv: deltagare, en: participant}
    inclusion: included_on
    columns:
      included_on: {type: date, label: {sv: Inkluderad, en: Included}}
  tables:
    savings:
      kind: records
      label: {sv: Besparingar, en: Savings}
      date: date
      columns:
        date: {type: date, label: {sv: Datum, en: Date}}
        amount: {type: money, label: {sv: Belopp, en: Amount}}
evaluations:
  saved: {method: aggregate, table: savings, outcome: amount, options: {statistic: sum}}
inputs:
  saving_sek: {type: money, evaluate: saved, take: value}
outputs:
  paid_sek: {type: money, formula: "max(saving_sek, 0)"}
payments:
  - {id: payment, from: town, to: fund, label: Payment, amount: paid_sek}
"""


@pytest.fixture(scope="module")
def from_tables(signed, utfall, tmp_path_factory):
    """A bundle settled from a folder of tables, as of a day, with the tables included."""
    work = tmp_path_factory.mktemp("tables")
    (work / "data").mkdir()
    (work / "tables-cli.yaml").write_text(TABLES_CONTRACT, encoding="utf-8")
    (work / "data/participants.csv").write_text(
        "participant,included_on\np1,2020-01-15\np2,2021-06-01\n", encoding="utf-8"
    )
    (work / "data/savings.csv").write_text(
        "participant,date,amount\np1,2020-02-01,100.25\np2,2021-07-01,200.50\n", encoding="utf-8"
    )
    bundle = work / "bundle.json"
    settled = utfall(
        "settle",
        work / "tables-cli.yaml",
        "--data-dir",
        work / "data",
        "--as-of",
        "2020-12-31",
        "--sign",
        signed["keys"] / "private.pem",
        "--bundle",
        bundle,
        "--include-data",
        "--ledger",
        work / "ledger.jsonl",
        "--json",
    )
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert json.loads(settled.stdout)["payments"][0]["amount_sek"] == "100.25"
    return work, bundle


def test_a_bundle_from_tables_verifies_and_its_tables_settle_again(from_tables, utfall):
    work, bundle = from_tables
    result = utfall("verify", bundle, "--ledger", work / "ledger.jsonl", "--extract", work / "x")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "re-ran every evaluation on the tables as of 2020-12-31" in result.stdout
    assert (work / "x/data/savings.csv").read_text(encoding="utf-8").count("\n") == 2  # as of
    again = utfall("settle", work / "x/tables-cli.yaml", "--data-dir", work / "x/data", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["payments"][0]["amount_sek"] == "100.25"


def test_a_changed_cell_in_an_included_table_exits_1(from_tables, utfall, tmp_path):
    _, bundle = from_tables
    tampered = tmp_path / "tampered.json"
    tampered.write_text(
        # The cell as it stands in the table's canonical CSV (quoted, inside a JSON string).
        bundle.read_text(encoding="utf-8").replace('\\"100.25\\"', '\\"900.25\\"', 1),
        encoding="utf-8",
    )
    result = utfall("verify", tampered)
    assert result.returncode == 1, result.stdout
    assert "table 'savings' was changed" in result.stderr
