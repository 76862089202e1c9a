"""``utfall knowledge validate|export|fund|schema`` through the console script's entry point."""

from __future__ import annotations

import json

from utfall.errors import UserError
from utfall.services.knowledge import knowledge_validate

FUND = "examples/contracts/national-fund-constellation.yaml"
IPS = "examples/contracts/ips-employment-rate-card.yaml"


def test_export_then_validate(utfall, root, tmp_path):
    out = tmp_path / "fund.json"
    result = utfall("knowledge", "export", root / FUND, "--out", out, "--published", "2026-12-01")
    assert result.returncode == 0, result.stderr
    assert "utfall-national-fund-constellation" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    # One INDIGO 4.1.0 project document, not a list of ours.
    assert document["id"] == "utfall-national-fund-constellation"
    assert document["status"] == "PUBLIC"
    assert document["outcome_funds"] == [{"id": "utfall-fund-delegation", "status": "PUBLIC"}]
    assert document["utfall_extension"]["published"] == "2026-12-01"
    assert document["utfall_extension"]["format"]["standard"].endswith("4.1.0")
    result = utfall("knowledge", "validate", out)
    assert result.returncode == 0, result.stdout
    assert "valid" in result.stdout


def test_export_with_results_withholds_small_cells(utfall, root, tmp_path):
    results = tmp_path / "results.csv"
    results.write_text(
        "outcome_metric_id,period_start,period_end,group,n,count\n"
        "school_absence_units,2024-01-01,2024-06-30,all,200,60\n"
        "risk_zone_units,2024-01-01,2024-06-30,all,40,2\n",
        encoding="utf-8",
    )
    out = tmp_path / "fund.csv"
    result = utfall("knowledge", "export", root / FUND, "--out", out, "--results", results)
    assert result.returncode == 0, result.stderr
    assert "1 withheld" in result.stdout
    assert utfall("knowledge", "validate", out).returncode == 0


def test_validate_lists_every_located_problem_and_exits_2(utfall, root, tmp_path):
    out = tmp_path / "fund.json"
    assert utfall("knowledge", "export", root / FUND, "--out", out).returncode == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    project = document
    project["name"]["value"] = ""
    project["results"] = [
        {
            "outcome_metric_id": {"value": "school_absence_units"},
            "result_type": {"value": "Interim"},
            "period": {"start_date": {"value": "2024-01-01"}, "end_date": {"value": "2024-06"}},
            "number_engaged_in_impact_bond": {"value": 3},
            "status": "PUBLIC",
            "utfall_extension": {"group": "all", "suppressed": False},
        }
    ]
    out.write_text(json.dumps(document), encoding="utf-8")
    result = utfall("knowledge", "validate", out, "--json")
    assert result.returncode == 2
    (report,) = json.loads(result.stdout)
    paths = {f["path"] for f in report["findings"]}
    assert paths == {"name.value", "results[0].number_engaged_in_impact_bond.value"}
    human = utfall("knowledge", "validate", out)
    assert human.returncode == 2
    assert "2 problem(s)" in human.stdout
    assert "name.value" in human.stdout


def test_bad_input_exits_2_naming_the_file(utfall, root, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "projects": [,]\n}', encoding="utf-8")
    result = utfall("knowledge", "validate", broken)
    assert result.returncode == 2
    assert "broken.json:2" in result.stdout
    results = tmp_path / "results.csv"
    results.write_text("outcome_metric_id,period_start\nx,2024-01-01\n", encoding="utf-8")
    result = utfall(
        "knowledge", "export", root / FUND, "--out", tmp_path / "o.json", "--results", results
    )
    assert result.returncode == 2
    assert "results.csv" in result.stderr and "'period_end'" in result.stderr
    result = utfall(
        "knowledge", "export", root / FUND, "--out", tmp_path / "o.json", "--stage", "Dreaming"
    )
    assert result.returncode == 2 and "stage" in result.stderr
    missing = utfall("knowledge", "validate", tmp_path / "missing.json")
    assert missing.returncode == 2


def test_schema_command_prints_the_schema(utfall, root):
    result = utfall("knowledge", "schema")
    assert result.returncode == 0
    on_disk = json.loads((root / "docs" / "knowledge.schema.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == on_disk


def _run(*args):
    """``utfall ARGS…`` in-process, errors left as raised (set-up steps and refusals; the
    command under test runs as the console script)."""
    from typer.testing import CliRunner

    from utfall.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_export_takes_the_payments_from_signed_bundles(utfall, root, tmp_path):
    """The ledger's signed statements become INDIGO outcome payments and transactions."""
    keys = tmp_path / "keys"
    assert _run("keygen", "--out", keys).exit_code == 0
    bundle = tmp_path / "ips.bundle.json"
    facts = root / "examples/facts/ips-employment-rate-card.yaml"
    settled = _run(
        "settle", root / IPS, "--facts", facts, "--sign", keys / "private.pem", "--bundle", bundle
    )
    assert settled.exit_code == 0, settled.output
    out = tmp_path / "ips.json"
    result = utfall("knowledge", "export", root / IPS, "--out", out, "--bundle", bundle)
    assert result.returncode == 0, result.stderr
    assert "2 outcome payments" in " ".join(result.stdout.split())
    document = json.loads(out.read_text(encoding="utf-8"))
    assert knowledge_validate(document) == []
    payments = document["outcome_payments"]
    assert [p["payer_organisation_id"]["value"] for p in payments] == [
        "region",
        "samordningsforbund",
    ]
    total = document["overall_project_finance"]["total_outcome_payments_made"]["amount"]["value"]
    assert total == sum(p["money"]["amount"]["value"] for p in payments) > 0
    assert [t["transaction_type"]["value"] for t in document["transactions"]] == [
        "Outcome Payment",
        "Outcome Payment",
    ]
    # A bundle of another contract is refused, naming it.
    wrong = _run(
        "knowledge", "export", root / FUND, "--out", tmp_path / "x.json", "--bundle", bundle
    )
    assert isinstance(wrong.exception, UserError) and "ips.bundle.json" in str(wrong.exception)


def test_fund_writes_indigo_s_fund_object(utfall, root, tmp_path):
    out = tmp_path / "fund.json"
    support = root / "examples/contracts/national-fund-support.yaml"
    result = utfall(
        "knowledge", "fund", root / FUND, support, "--out", out, "--published", "2026-12-01"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert knowledge_validate(document) == []
    assert document["id"] == "utfall-fund-delegation"
    funding = document["dimensions_of_scale"]["total_outcome_fund_value_outcomes_funding"]
    assert funding["aspiration"]["amount"] == {"value": 170_000_000}  # seed 003
    assert document["utfall_extension"]["budget_sek"] == "365000000.00"
    assert document["utfall_extension"]["project_ids"] == [
        "utfall-national-fund-constellation",
        "utfall-national-fund-support",
    ]
    no_fund = _run("knowledge", "fund", root / IPS, "--out", tmp_path / "f.json")
    assert isinstance(no_fund.exception, UserError)
    assert "fund_administrator" in str(no_fund.exception)
