"""``utfall evaluate`` of a TWFE event study with one treated unit (organ donations)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def organ_folder(tmp_path_factory) -> Path:
    import causaldata

    folder = tmp_path_factory.mktemp("organ")
    data = causaldata.organ_donations.load_pandas().data.copy()
    data["treated"] = ((data["State"] == "California") & (data["Quarter_Num"] >= 4)).astype(int)
    data.to_csv(folder / "organ.csv", index=False)
    return folder


def _spec(folder: Path, ci: str) -> Path:
    path = folder / f"organ-{abs(hash(ci))}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            data: organ.csv
            method: twfe
            outcome: Rate
            treatment: treated
            unit: State
            time: Quarter_Num
            event_study: true
            ci: {ci}
            """
        ),
        encoding="utf-8",
    )
    return path


def test_randomisation_event_study_json_and_chart(utfall, organ_folder):
    spec = _spec(organ_folder, "{method: randomisation}")
    chart = organ_folder / "chart.json"
    result = utfall("evaluate", spec, "--json", "--chart", chart, "--chart-language", "en")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert round(data["estimate"], 4) == -0.0225
    assert data["ci_method"] == "randomisation"
    assert data["ci_low"] < data["estimate"] < data["ci_high"]
    rows = data["event_study"]
    assert [r["relative_period"] for r in rows] == [-3, -2, -1, 0, 1, 2]
    assert set(rows[0]) == {"relative_period", "estimate", "std_error", "ci_low", "ci_high"}
    assert data["extras"]["event_study_reference"] == -1
    drawn = json.loads(chart.read_text(encoding="utf-8"))
    assert "Period relative to adoption" in json.dumps(drawn)


def test_cr1_with_one_treated_state_exits_2_naming_randomisation(utfall, organ_folder):
    result = utfall("evaluate", _spec(organ_folder, "{method: analytic}"), "--json")
    assert result.returncode == 2
    assert "randomisation" in result.stderr + result.stdout


def test_table_output_shows_the_event_study(utfall, organ_folder):
    result = utfall("evaluate", _spec(organ_folder, "{method: randomisation}"))
    assert result.returncode == 0, result.stderr
    assert "event study" in result.stdout and "(ref.)" in result.stdout


def test_chart_without_event_study_exits_2(utfall, organ_folder, tmp_path):
    spec = organ_folder / "plain.yaml"
    spec.write_text(
        "data: organ.csv\nmethod: twfe\noutcome: Rate\ntreatment: treated\nunit: State\n"
        "time: Quarter_Num\nci: {method: randomisation}\n",
        encoding="utf-8",
    )
    result = utfall("evaluate", spec, "--chart", tmp_path / "c.json")
    assert result.returncode == 2
    assert "event study" in result.stderr + result.stdout
