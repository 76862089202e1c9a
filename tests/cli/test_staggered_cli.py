"""``utfall evaluate`` of a ``staggered_did`` spec and of the fund portfolio contract.

The published figures are the R ``did`` README's on ``mpdta`` (as shipped inside
``moderndid`` 0.2.0): group aggregation −0.031, dynamic −0.0772 (see
tests/core/evaluation/test_staggered.py for the full citation).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mpdta_folder(tmp_path_factory) -> Path:
    import moderndid

    folder = tmp_path_factory.mktemp("mpdta")
    moderndid.load_mpdta().to_pandas().to_csv(folder / "mpdta.csv", index=False)
    return folder


def _spec(folder: Path, body: str) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text(textwrap.dedent(body), encoding="utf-8")
    return spec


def test_dynamic_aggregation_json(utfall, mpdta_folder):
    spec = _spec(
        mpdta_folder,
        """
        data: mpdta.csv
        method: staggered_did
        outcome: lemp
        unit: countyreal
        time: year
        group: first.treat
        control_group: never_treated
        estimation: regression
        aggregation: dynamic
        seed: 7
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["method"] == "staggered_did"
    assert round(data["estimate"], 4) == -0.0772
    assert data["std_error"] == pytest.approx(0.0196, abs=0.001)
    assert data["ci_low"] < data["estimate"] < data["ci_high"]
    rows = data["event_study"]
    assert [r["relative_period"] for r in rows] == [-3, -2, -1, 0, 1, 2, 3]
    assert set(rows[0]) == {"relative_period", "estimate", "std_error", "ci_low", "ci_high"}
    assert round(data["extras"]["pre_trend_test"]["p_value"], 5) == 0.16812


def test_dynamic_effects_chart(utfall, mpdta_folder, tmp_path):
    spec = _spec(
        mpdta_folder,
        """
        data: mpdta.csv
        method: staggered_did
        outcome: lemp
        unit: countyreal
        time: year
        group: first.treat
        aggregation: dynamic
        seed: 7
        """,
    )
    chart = tmp_path / "event-study.json"
    result = utfall("evaluate", spec, "--chart", chart)
    assert result.returncode == 0, result.stderr
    assert "vega-lite" in json.loads(chart.read_text(encoding="utf-8"))["$schema"]


def test_group_aggregation_json(utfall, mpdta_folder):
    spec = _spec(
        mpdta_folder,
        """
        data: mpdta.csv
        method: staggered_did
        outcome: lemp
        unit: countyreal
        time: year
        group: first.treat
        aggregation: group
        seed: 7
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 0, result.stderr
    assert round(json.loads(result.stdout)["estimate"], 3) == -0.031


def test_bad_option_and_missing_column_exit_2(utfall, mpdta_folder):
    spec = _spec(
        mpdta_folder,
        """
        data: mpdta.csv
        method: staggered_did
        outcome: lemp
        unit: countyreal
        time: year
        group: first.treat
        aggregation: yearly
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 2
    assert "aggregation" in result.stderr
    spec = _spec(
        mpdta_folder,
        """
        data: mpdta.csv
        method: staggered_did
        outcome: lemp
        unit: countyreal
        time: year
        group: first_treated_year
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 2
    assert "first_treated_year" in result.stderr


def test_fund_portfolio_contract_evaluates_on_synthetic_data(utfall, tmp_path):
    out = tmp_path / "fund"
    made = utfall("synth", "fund", "--out", out)
    assert made.returncode == 0, made.stderr
    contract = ROOT / "examples" / "contracts" / "national-fund-portfolio.yaml"
    result = utfall("evaluate", contract, "--data-dir", out, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["portfolio_effect"]
    planted = json.loads((out / "manifest.json").read_text())["planted"]["portfolio"]
    by_event = {r["relative_period"]: r for r in data["event_study"]}
    for e in range(4):
        row = by_event[e]
        assert (
            row["ci_low"] <= planted["effect_by_half_years_since_start"][str(e)] <= row["ci_high"]
        )
    assert data["n_treated"] == 12 and data["n_control"] == 6
