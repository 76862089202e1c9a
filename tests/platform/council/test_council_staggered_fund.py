"""The council of the fund's staggered portfolio (``national-fund-portfolio`` on what
``utfall synth fund`` writes: municipalities funded from 2024, 2025 and 2026 and applicants
never funded) shows the dynamic effects: its ``staggered_did`` evaluation, aggregated by
half-years since the start, gives the event study the council's event-study panel draws.
No database: the dashboard is built by the council service on the synthetic tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.council import dashboard_build
from utfall.synth import generate

CONTRACT = Path(__file__).resolve().parents[3] / "examples/contracts/national-fund-portfolio.yaml"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    out = tmp_path_factory.mktemp("fund")
    manifest = generate("fund", out)
    contract = contract_read(CONTRACT)
    built = dashboard_build(
        contract, DirectoryTables(out, contract.data), as_of=dt.date(2028, 12, 31)
    )
    return built, manifest


def test_the_portfolio_is_staggered(dashboard):
    _, manifest = dashboard
    starts = manifest["planted"]["portfolio"]["first_funded"]
    assert {s[:4] for s in starts.values() if s} == {"2024", "2025", "2026"}
    assert any(s is None for s in starts.values())


def test_council_shows_the_dynamic_effects(dashboard):
    built, manifest = dashboard
    (panel,) = [p for p in built["panels"] if p["evaluation"] == "portfolio_effect"]
    assert panel["method"] == "staggered_did" and panel["status"] == "ok"
    # The generic event-study panel, chosen because the estimate has an event study.
    assert panel["kind"] == "event_study"
    rows = panel["event_study"]["rows"]
    assert panel["event_study"]["reference"] is None  # Callaway-Sant'Anna, varying base
    periods = [int(r["relative_period"]) for r in rows]
    assert periods == sorted(periods) and min(periods) < 0 <= max(periods)
    planted = manifest["planted"]["portfolio"]["effect_by_half_years_since_start"]
    after = {int(r["relative_period"]): r for r in rows if int(r["relative_period"]) >= 0}
    assert after[3]["estimate"] == pytest.approx(planted["3"], abs=0.01)
    json.dumps(panel)  # the panel is what the page and the report render


def test_the_estimate_is_the_average_dynamic_effect(dashboard):
    built, _ = dashboard
    (panel,) = [p for p in built["panels"] if p["evaluation"] == "portfolio_effect"]
    estimate = panel["estimate"]
    assert estimate["ci_low"] < estimate["value"] < estimate["ci_high"]
    assert estimate["value"] > 0  # the planted effect raises the share


def test_the_dynamic_effects_chart_is_drawn(dashboard):
    from utfall.platform.council.charts import chart_spec
    from utfall.platform.council.tables import panel_tables

    built, _ = dashboard
    (panel,) = [p for p in built["panels"] if p["evaluation"] == "portfolio_effect"]
    charts = [
        chart_spec(table)
        for table in panel_tables(panel)
        if table.chart is not None and table.chart.type == "event_study"
    ]
    assert charts and all(spec is not None and "$schema" in spec for spec in charts)
    assert "vega-lite" in charts[0]["$schema"]
