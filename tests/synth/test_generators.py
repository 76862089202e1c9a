"""The synthetic-data generators: layout, determinism, pseudonyms, planted dynamics."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from stdnum.se import personnummer

from utfall.synth import SCENARIOS, generate, sick_leave
from utfall.synth.fund import INDICATORS


@pytest.fixture(scope="module")
def norrkoping(tmp_path_factory):
    out = tmp_path_factory.mktemp("norrkoping")
    manifest = generate("norrkoping", out, seed=11)
    return out, manifest


@pytest.fixture(scope="module")
def big_norrkoping(tmp_path_factory):
    """Many children, so the planted dynamics show through the noise."""
    out = tmp_path_factory.mktemp("norrkoping_big")
    manifest = generate("norrkoping", out, seed=12, size=1500)
    return out, manifest


@pytest.fixture(scope="module")
def sick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sick")
    manifest = generate("sick-leave", out, seed=5, size=3000)
    return out, manifest


@pytest.fixture(scope="module")
def fund(tmp_path_factory):
    out = tmp_path_factory.mktemp("fund")
    manifest = generate("fund", out, seed=3)
    return out, manifest


def read(out, name):
    parquet = out / f"{name}.parquet"
    return pd.read_parquet(parquet) if parquet.exists() else pd.read_csv(out / f"{name}.csv")


def test_scenarios_cover_the_reference_contracts():
    assert set(SCENARIOS) >= {
        "norrkoping",
        "sick-leave",
        "early-support",
        "collective-impact",
        "fund",
    }


def test_manifest_lists_every_table_with_its_rows(norrkoping):
    out, manifest = norrkoping
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest))
    analysis = {"children", "costs", "school", "dimensions", "replacements", "price_index"}
    # The declared tables of the Norrköping contract, as CSV (price_index is shared).
    declared = {
        "participants",
        "cost_records",
        "placement_days",
        "school_results",
        "social_scores",
        "cost_reports",
        "replacement_follow_up",
        "delivery_attestations",
    }
    assert set(manifest["tables"]) == analysis | declared
    assert manifest["contracts"] == ["norrkoping-placed-children"]
    for name, info in manifest["tables"].items():
        path = out / info["file"]
        table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
        assert table.num_rows == info["rows"], name
        assert table.column_names == info["columns"], name
    # No partial files are left behind.
    assert not list(out.glob(".*partial"))


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = generate("norrkoping", tmp_path / "a", seed=7, size=20)
    b = generate("norrkoping", tmp_path / "b", seed=7, size=20)
    c = generate("norrkoping", tmp_path / "c", seed=8, size=20)
    assert a == b
    for name in a["tables"]:
        assert read(tmp_path / "a", name).equals(read(tmp_path / "b", name)), name
    assert not read(tmp_path / "a", "costs").equals(read(tmp_path / "c", "costs"))
    assert a["planted"] != c["planted"]


def test_default_sizes_follow_the_design(norrkoping, fund):
    children = read(norrkoping[0], "children")
    assert (children.included == 1).sum() == 60  # up to 60 children (DESIGN.md 2.1)
    assert 300 <= (children.included == 0).sum() <= 1000  # a few hundred in the reference
    assert len(read(fund[0], "constellations")) == 10


def test_identifiers_are_pseudonyms_not_personal_identity_numbers(norrkoping):
    children = read(norrkoping[0], "children")
    assert children.child_id.is_unique
    assert all(re.fullmatch(r"P-\d{6}", cid) for cid in children.child_id)
    digits = [cid[2:] for cid in children.child_id]
    assert not any(personnummer.is_valid(d) for d in digits)
    assert not any(personnummer.is_valid(cid) for cid in children.child_id)


def test_placement_cost_is_about_2740_sek_per_day_in_2016_prices(norrkoping):
    costs = read(norrkoping[0], "costs")
    prices = read(norrkoping[0], "price_index")
    merged = costs.merge(prices, on="month", how="left")
    assert merged["index"].notna().all(), "every cost month has a price index value"
    placed = merged[merged.placement_days > 0]
    per_day_2016 = placed.placement_cost_sek / placed.placement_days / (placed["index"] / 100)
    assert np.allclose(per_day_2016, 2740, atol=0.01)
    # ~1 MSEK per placed child-year.
    assert 0.95e6 < 2740 * 365 < 1.05e6
    assert np.allclose(
        costs.total_cost_sek, costs.placement_cost_sek + costs.outpatient_cost_sek, atol=0.02
    )
    assert costs.placement_days.max() <= 31


def test_each_child_has_12_months_before_and_36_after_inclusion(norrkoping):
    costs = read(norrkoping[0], "costs")
    months = costs.groupby("child_id").month_since_inclusion.agg(["min", "max", "count"])
    assert (months["min"] == -12).all() and (months["max"] == 35).all()
    assert (months["count"] == 48).all()
    assert ((costs.month_since_inclusion >= 0) == (costs.post == 1)).all()


def test_reference_trend_is_linearly_negative(big_norrkoping):
    costs = read(big_norrkoping[0], "costs")
    reference = costs[(costs.included == 0) & (costs.post == 1)]
    by_month = reference.groupby("month_since_inclusion").total_cost_real_sek.mean()
    slope, intercept = np.polyfit(by_month.index, by_month.to_numpy(), 1)
    residual = by_month.to_numpy() - (intercept + slope * by_month.index.to_numpy())
    assert slope < 0
    assert np.abs(residual).max() < 0.1 * intercept


def test_included_costs_rise_first_and_fall_from_about_month_9(big_norrkoping):
    out, manifest = big_norrkoping
    costs = read(out, "costs")
    post = costs[costs.post == 1]
    by = post.groupby(["included", "month_since_inclusion"]).total_cost_real_sek.mean().unstack(0)
    gap = by[0] - by[1]  # reference minus included: a saving when positive
    assert gap.loc[0:5].mean() < 0, "more placement days in the first months"
    assert gap.loc[12:35].mean() > 0, "net savings later on"
    assert manifest["planted"]["first_saving_month"] == 9
    planted = np.array(manifest["planted"]["saving_by_month_sek"])
    assert (planted[:9] < 0).all() and (planted[9:] > 0).all()
    assert manifest["planted"]["break_even_month"] > 9


def test_effect_is_larger_for_young_children_with_earlier_placements(big_norrkoping):
    out, manifest = big_norrkoping
    by_band = manifest["planted"]["cumulative_saving_by_age_band_sek"]
    children = read(out, "children")
    included = children[children.included == 1].age_band.value_counts()
    per_child = {band: by_band[band] / included[band] for band in by_band}
    assert per_child["6-12"] > per_child["13-15"] > per_child["16-17"] > per_child["18-20"] > 0
    # And it shows in the data: younger children with earlier placements save more.
    costs = read(out, "costs").merge(children[["child_id", "age_at_inclusion"]], on="child_id")
    post = costs[(costs.post == 1) & (costs.month_since_inclusion >= 12)]
    reference = post[post.included == 0].groupby("month_since_inclusion").total_cost_real_sek.mean()
    treated = post[post.included == 1].copy()
    treated["gap"] = treated.month_since_inclusion.map(reference) - treated.total_cost_real_sek
    young = treated[(treated.age_at_inclusion <= 15) & (treated.earlier_placements >= 1)].gap.mean()
    old = treated[treated.age_at_inclusion >= 18].gap.mean()
    assert young > old


def test_school_and_dimensions_layout(norrkoping):
    out, _ = norrkoping
    school = read(out, "school")
    assert all(sorted(posts) == [0, 1] for _, posts in school.groupby("child_id").post)
    assert school.merit_points.between(0, 340).all()
    dims = read(out, "dimensions")
    assert set(dims.dimension) == {
        "mental_health",
        "risk_and_abuse",
        "participation",
        "family_capacity",
        "own_goal_attainment",
        "school_results",
    }
    waves = dims.groupby("child_id").wave.max()
    assert set(waves) <= {3, 4} and len(waves) == 60
    assert not dims.duplicated(["child_id", "wave", "dimension"]).any()
    goals = dims[dims.dimension == "own_goal_attainment"]
    assert set(goals.score) <= {0.0, 1.0}
    others = dims[dims.dimension != "own_goal_attainment"]
    assert others.score.between(1, 5).all()


def test_own_goals_reached_by_81_percent_at_point_3(big_norrkoping):
    dims = read(big_norrkoping[0], "dimensions")
    goals = dims[(dims.dimension == "own_goal_attainment") & (dims.wave == 3)]
    assert goals.score.mean() == pytest.approx(0.81, abs=0.03)


def test_sick_leave_layout_and_concentration(sick):
    out, manifest = sick
    months = read(out, "employee_months")
    assert len(months) == 3000 * 72
    counts = months.groupby(["employee", "period"], observed=True).size()
    assert (counts == 36).all()
    assert set(months.period.astype(str)) == {"reference", "contract"}
    per_employee = months.groupby("employee").sick_days.sum().sort_values(ascending=False)
    top = per_employee.iloc[: len(per_employee) // 5].sum() / per_employee.sum()
    assert top == pytest.approx(0.75, abs=0.04)  # 20 % of employees, ~75 % of the days
    assert manifest["planted"]["top_20_percent_share_of_days"] == pytest.approx(top, abs=1e-9)
    slt = read(out, "slt_index")
    assert len(slt) == 72 and (slt.slt > 0).all()
    assert slt.groupby("period").month_index.agg(lambda s: sorted(s) == list(range(1, 37))).all()


def test_sick_leave_is_written_in_bounded_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(sick_leave, "BLOCK_EMPLOYEES", 250)
    generate("sick-leave", tmp_path, seed=1, size=1000)
    meta = pq.ParquetFile(tmp_path / "employee_months.parquet").metadata
    assert meta.num_row_groups == 4
    assert {meta.row_group(i).num_rows for i in range(4)} == {250 * 72}


def test_progress_is_reported_and_a_failure_leaves_no_table(tmp_path):
    seen = []

    class Recorder:
        def start(self, description, total):
            seen.append(("start", total))

        def advance(self, rows):
            seen.append(("advance", rows))

    generate("sick-leave", tmp_path / "ok", seed=1, size=100, progress=Recorder())
    assert seen[0] == ("start", 7200) and sum(n for k, n in seen if k == "advance") == 7200

    class Boom(Recorder):
        def advance(self, rows):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        generate("sick-leave", tmp_path / "bad", seed=1, size=100, progress=Boom())
    assert not (tmp_path / "bad" / "employee_months.parquet").exists()
    assert not list((tmp_path / "bad").glob(".*partial"))
    assert not (tmp_path / "bad" / "manifest.json").exists()


def test_csv_matches_parquet(tmp_path):
    generate("fund", tmp_path, seed=2, csv=True)
    for name in ("constellations", "indicator_reports", "costs"):
        parquet = read(tmp_path, name)
        csv = pd.read_csv(tmp_path / f"{name}.csv")
        assert list(csv.columns) == list(parquet.columns)
        assert len(csv) == len(parquet)
    reports = pd.read_csv(tmp_path / "indicator_reports.csv")
    assert np.allclose(reports.value, read(tmp_path, "indicator_reports").value)


def test_fund_reports_are_6_monthly_on_the_youth_crime_indicators(fund):
    out, _ = fund
    reports = read(out, "indicator_reports")
    assert set(reports.indicator) <= set(INDICATORS)
    assert sorted(reports.period.unique()) == list(range(11))
    starts = pd.to_datetime(reports.drop_duplicates("period").sort_values("period").period_start)
    assert (starts.diff().dropna().dt.days.between(181, 184)).all()
    assert (reports["count"] <= reports.n).all()
    costs = read(out, "costs")
    constellations = read(out, "constellations")
    totals = costs.groupby("constellation_id").cost_sek.sum()
    budgets = constellations.set_index("constellation_id").budget_sek
    assert np.allclose(totals, budgets.loc[totals.index], atol=10)
    assert 15e6 < budgets.mean() < 60e6  # average about 34 MSEK
    # Indicators move in their good direction on average.
    first_last = reports[reports.period.isin([0, 10])].pivot_table(
        index=["constellation_id", "indicator"], columns="period", values="value"
    )
    direction = reports.drop_duplicates("indicator").set_index("indicator").direction
    sign = first_last.index.get_level_values("indicator").map(
        lambda code: 1 if direction[code] == "higher_is_better" else -1
    )
    assert ((first_last[10] - first_last[0]) * np.asarray(sign)).mean() > 0


def test_bad_size_and_scenario():
    with pytest.raises(KeyError):
        generate("nowhere", None, seed=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sick_leave.generate(None, seed=1, size=0)  # type: ignore[arg-type]
