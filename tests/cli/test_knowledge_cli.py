"""``utfall knowledge validate|export|schema`` through the installed console script."""

from __future__ import annotations

import json

FUND = "examples/contracts/national-fund-constellation.yaml"


def test_export_then_validate(utfall, root, tmp_path):
    out = tmp_path / "fund.json"
    result = utfall("knowledge", "export", root / FUND, "--out", out, "--published", "2026-12-01")
    assert result.returncode == 0, result.stderr
    assert "utfall-national-fund-constellation" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["published"] == "2026-12-01"
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
    project = document["projects"][0]
    project["name"]["value"] = ""
    project["results"] = [
        {
            "outcome_metric_id": {"value": "school_absence_units"},
            "result_type": {"value": "Interim"},
            "period": {"start_date": {"value": "2024-01-01"}, "end_date": {"value": "2024-06"}},
            "number_engaged_in_impact_bond": {"value": 3},
            "utfall": {"group": "all", "suppressed": False},
        }
    ]
    out.write_text(json.dumps(document), encoding="utf-8")
    result = utfall("knowledge", "validate", out, "--json")
    assert result.returncode == 2
    (report,) = json.loads(result.stdout)
    paths = {f["path"] for f in report["findings"]}
    assert paths == {
        "projects[0].name.value",
        "projects[0].results[0].number_engaged_in_impact_bond.value",
    }
    human = utfall("knowledge", "validate", out)
    assert human.returncode == 2
    assert "2 problem(s)" in human.stdout
    assert "projects[0].name.value" in human.stdout


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
