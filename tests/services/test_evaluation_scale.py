"""run_trend_adjusted / run_historical_reference: specs, data checks, planted effects."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from utfall.adapters.files import read_arrow
from utfall.analytics import read_table
from utfall.errors import DataInvalid, SpecInvalid
from utfall.services import evaluation_scale
from utfall.synth import generate


def _table(s, key):
    """An auxiliary table an option names, relative to the data file (as a spec file's are
    relative to the spec)."""
    value = s.options.get(key)
    if value is None:
        return None
    path = Path(value) if Path(value).is_absolute() else Path(s.data).parent / value
    return read_arrow(path)


def _rows(s):
    return lambda connection: read_table(connection, Path(s.data))


def run_trend_adjusted(s, **options):
    return evaluation_scale.run_trend_adjusted(
        s, data=_rows(s), trend_index=_table(s, "trend_index"), where=str(s.data), **options
    )


def run_historical_reference(s, **options):
    return evaluation_scale.run_historical_reference(
        s, data=_rows(s), prices=_table(s, "price_index"), where=str(s.data), **options
    )


def spec(data, **fields):
    base = {
        "method": None,
        "outcome": None,
        "treatment": None,
        "unit": None,
        "time": None,
        "post": None,
        "covariates": [],
        "subgroup": None,
        "ci": SimpleNamespace(method="bootstrap", level=0.95, reps=999),
        "seed": 11,
        "options": {},
    }
    return SimpleNamespace(data=data, **{**base, **fields})


@pytest.fixture(scope="module")
def sick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sick")
    manifest = generate("sick-leave", out, seed=8, size=20_000, csv=False)
    return out, manifest["planted"]


@pytest.fixture(scope="module")
def sick_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("sick_csv")
    generate("sick-leave", out, seed=9, size=300, csv=True)
    return out


def sick_spec(out, **options):
    return spec(
        out / "employee_months.parquet",
        method="trend_adjusted",
        outcome="sick_days",
        unit="employee",
        time="month_index",
        post="period",
        options={"trend_index": "slt_index.parquet", "day_value": 2450, **options},
    )


@pytest.fixture(scope="module")
def norrkoping(tmp_path_factory):
    out = tmp_path_factory.mktemp("norrkoping")
    manifest = generate("norrkoping", out, seed=5, size=300)
    return out, manifest["planted"]


def cost_spec(out, **options):
    return spec(
        out / "costs.parquet",
        method="historical_reference",
        outcome="total_cost_sek",
        treatment="included",
        unit="child_id",
        time="month_since_inclusion",
        options={"price_index": "price_index.parquet", **options},
    )


def test_trend_adjusted_recovers_the_planted_saving(sick):
    out, planted = sick
    e = run_trend_adjusted(sick_spec(out))
    assert e.ci_low < planted["saving_sek"] < e.ci_high
    assert e.estimate == pytest.approx(planted["saving_sek"], rel=0.06)
    assert e.extras["saving_days"] == pytest.approx(planted["saving_days"], rel=0.06)
    assert e.extras["employees"] == 20_000
    assert e.extras["rows"] == 20_000 * 72
    assert e.extras["backend"] == "duckdb"
    monthly = e.extras["monthly"]
    assert len(monthly["month"]) == 36
    # The contract months show fewer days than expected once the effect is in.
    late = zip(
        monthly["expected_days_per_employee"][12:],
        monthly["observed_days_per_employee"][12:],
        strict=True,
    )
    assert all(exp > obs for exp, obs in late)


def test_trend_adjustment_matters(sick):
    """Without the SLT trend (a flat index) the pandemic months eat the saving."""
    out, planted = sick
    import pyarrow.parquet as pq

    slt = pq.read_table(out / "slt_index.parquet").to_pandas()
    slt["slt"] = 100.0
    flat = out / "flat_index.parquet"
    slt.to_parquet(flat)
    adjusted = run_trend_adjusted(sick_spec(out))
    unadjusted = run_trend_adjusted(sick_spec(out, trend_index=str(flat), floor=False))
    assert unadjusted.estimate < 0.5 * adjusted.estimate
    assert not unadjusted.ci_low < planted["saving_sek"] < unadjusted.ci_high


def test_analytic_point_only_and_per_employee(sick):
    out, _ = sick
    analytic = run_trend_adjusted(
        spec(
            **{
                **sick_spec(out).__dict__,
                "ci": SimpleNamespace(method="analytic", level=0.9, reps=1),
            }
        )
    )
    point = run_trend_adjusted(sick_spec(out), interval=False)
    per = run_trend_adjusted(sick_spec(out, scale="per_employee"), interval=False)
    stated = run_trend_adjusted(sick_spec(out, employees=10_000), interval=False)
    assert point.estimate == pytest.approx(analytic.estimate, rel=1e-12)
    assert point.ci_low is None and point.ci_method == "none"
    assert analytic.ci_method == "analytic" and analytic.level == 0.9
    assert per.estimate == pytest.approx(point.estimate / 20_000)
    assert stated.estimate == pytest.approx(point.estimate / 2)


def test_subgroups_by_administration(sick):
    out, planted = sick
    s = sick_spec(out)
    s.subgroup = "administration"
    e = run_trend_adjusted(s)
    by = {g.label: g for g in e.subgroups}
    assert set(by) == set(planted["saving_days_by_administration"])
    assert sum(g.estimate for g in e.subgroups) == pytest.approx(e.estimate, rel=1e-9)
    education = by["education"]
    truth = planted["saving_days_by_administration"]["education"] * 2450
    assert education.ci_low < truth < education.ci_high


def test_csv_gives_the_same_estimate_as_parquet(sick_csv):
    parquet = run_trend_adjusted(sick_spec(sick_csv))
    csv_spec = sick_spec(sick_csv, trend_index="slt_index.csv")
    csv_spec.data = sick_csv / "employee_months.csv"
    csv = run_trend_adjusted(csv_spec)
    assert csv.estimate == pytest.approx(parquet.estimate, rel=1e-12)
    assert csv.ci_low == pytest.approx(parquet.ci_low, rel=1e-12)


def test_historical_reference_recovers_the_planted_saving(norrkoping):
    out, planted = norrkoping
    e = run_historical_reference(cost_spec(out))
    assert e.ci_low < planted["cumulative_saving_sek"] < e.ci_high
    assert e.n_treated == 300
    assert e.extras["cumulative_saving"] == e.estimate
    low, high = e.extras["break_even_month_ci"]
    assert low <= planted["break_even_month"] <= (high if high is not None else 99)
    linear = run_historical_reference(cost_spec(out, trend="linear"))
    assert linear.ci_low < planted["cumulative_saving_sek"] < linear.ci_high


def test_without_the_price_index_the_old_reference_looks_cheap(norrkoping):
    out, planted = norrkoping
    indexed = run_historical_reference(cost_spec(out))
    nominal = spec(**{**cost_spec(out).__dict__, "options": {}})
    unindexed = run_historical_reference(nominal)
    assert unindexed.extras["price_indexed"] is False
    assert unindexed.estimate < indexed.estimate - 3 * indexed.std_error
    assert not unindexed.ci_low < planted["cumulative_saving_sek"] < unindexed.ci_high


def test_historical_reference_subgroups_and_horizon(norrkoping):
    out, planted = norrkoping
    s = cost_spec(out, horizon=23)
    s.subgroup = "age_band"
    s.ci = SimpleNamespace(method="analytic", level=0.95, reps=999)
    e = run_historical_reference(s)
    assert e.extras["months"] == list(range(24))
    assert {g.label for g in e.subgroups} == {"6-12", "13-15", "16-17", "18-20"}
    assert e.extras["cumulative_by_month"][-1] == e.estimate
    # Two years of follow-up save less than three.
    assert e.estimate < planted["cumulative_saving_sek"]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"options": {"day_value": 2450}}, SpecInvalid, "trend_index"),
        ({"options": {"trend_index": "slt_index.parquet", "colour": 1}}, SpecInvalid, "colour"),
        (
            {"options": {"trend_index": "slt_index.parquet", "backend": "oracle"}},
            SpecInvalid,
            "backend",
        ),
        (
            {"options": {"trend_index": "slt_index.parquet", "day_value": "lots"}},
            SpecInvalid,
            "day_value",
        ),
        ({"options": {"trend_index": "slt_index.parquet", "floor": "yes"}}, SpecInvalid, "floor"),
        (
            {"options": {"trend_index": "slt_index.parquet", "scale": "monthly"}},
            SpecInvalid,
            "scale",
        ),
        ({"outcome": "sick_hours"}, SpecInvalid, "sick_hours"),
        ({"covariates": ["age"]}, SpecInvalid, "covariates"),
        (
            {"ci": SimpleNamespace(method="permutation", level=0.95, reps=99)},
            SpecInvalid,
            "permutation",
        ),
    ],
)
def test_trend_adjusted_spec_errors(sick_csv, change, error, match):
    s = sick_spec(sick_csv)
    for key, value in change.items():
        setattr(s, key, value)
    with pytest.raises(error, match=match):
        run_trend_adjusted(s)


def test_missing_column_names_the_file(sick_csv):
    s = sick_spec(sick_csv)
    s.unit = "person"
    with pytest.raises(SpecInvalid) as caught:
        run_trend_adjusted(s)
    assert "person" in str(caught.value) and "employee_months.parquet" in str(caught.value)


def test_a_trend_index_without_a_month_of_the_data(sick_csv, tmp_path):
    import pandas as pd

    slt = pd.read_parquet(sick_csv / "slt_index.parquet")
    short = tmp_path / "short.parquet"
    slt[slt.month_index != 7].to_parquet(short)
    with pytest.raises(DataInvalid) as caught:
        run_trend_adjusted(sick_spec(sick_csv, trend_index=str(short)))
    assert any("month 7" in f.message for f in caught.value.findings)
    bad = tmp_path / "bad.parquet"
    slt.loc[3, "slt"] = -1.0
    slt.to_parquet(bad)
    with pytest.raises(DataInvalid) as caught:
        run_trend_adjusted(sick_spec(sick_csv, trend_index=str(bad)))
    assert caught.value.findings[0].row == 4
    assert caught.value.findings[0].field_name == "slt"


def test_historical_reference_data_errors(norrkoping, tmp_path):
    import pandas as pd

    out, _ = norrkoping
    costs = pd.read_parquet(out / "costs.parquet")
    costs["included"] = costs["included"] * 2
    path = tmp_path / "costs.parquet"
    costs.to_parquet(path)
    s = cost_spec(out, price_index=str(out / "price_index.parquet"))
    s.data = path
    with pytest.raises(DataInvalid, match=r"0 \(reference\) or 1"):
        run_historical_reference(s)
    s = cost_spec(out)
    s.treatment = None
    with pytest.raises(SpecInvalid, match="treatment"):
        run_historical_reference(s)
    s = cost_spec(out, calendar="invoice_date")
    with pytest.raises(SpecInvalid, match="invoice_date"):
        run_historical_reference(s)
    prices = pd.read_parquet(out / "price_index.parquet")
    partial = tmp_path / "prices.parquet"
    prices.iloc[:20].to_parquet(partial)
    with pytest.raises(DataInvalid, match="price index"):
        run_historical_reference(cost_spec(out, price_index=str(partial)))
