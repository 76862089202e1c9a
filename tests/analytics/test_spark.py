"""The same Ibis aggregation on Spark gives the same estimate as on DuckDB."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from utfall.analytics import connect
from utfall.services.evaluation_scale import run_historical_reference, run_trend_adjusted
from utfall.synth import generate

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]


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
        "ci": SimpleNamespace(method="bootstrap", level=0.95, reps=499),
        "seed": 7,
        "options": {},
    }
    return SimpleNamespace(data=data, **{**base, **fields})


def test_trend_adjusted_on_spark_equals_duckdb(spark_session, tmp_path):
    out = tmp_path / "sick-leave"
    generate("sick-leave", out, seed=3, size=1500)
    sick = spec(
        out / "employee_months.parquet",
        method="trend_adjusted",
        outcome="sick_days",
        unit="employee",
        time="month_index",
        post="period",
        subgroup="administration",
        options={"trend_index": "slt_index.parquet", "day_value": 2450},
    )
    on_spark = run_trend_adjusted(sick, connection=connect("pyspark", session=spark_session))
    on_duckdb = run_trend_adjusted(sick)
    assert on_spark.extras["backend"] == "pyspark"
    assert on_duckdb.extras["backend"] == "duckdb"
    assert on_spark.estimate == pytest.approx(on_duckdb.estimate, rel=1e-12)
    assert on_spark.ci_low == pytest.approx(on_duckdb.ci_low, rel=1e-9)
    assert on_spark.ci_high == pytest.approx(on_duckdb.ci_high, rel=1e-9)
    assert on_spark.estimate > 0
    spark_groups = {s.label: s.estimate for s in on_spark.subgroups}
    duck_groups = {s.label: s.estimate for s in on_duckdb.subgroups}
    assert spark_groups == pytest.approx(duck_groups, rel=1e-9)


def test_historical_reference_on_spark_equals_duckdb(spark_session, tmp_path):
    out = tmp_path / "norrkoping"
    generate("norrkoping", out, seed=3)
    costs = spec(
        out / "costs.parquet",
        method="historical_reference",
        outcome="total_cost_sek",
        treatment="included",
        unit="child_id",
        time="month_since_inclusion",
        options={"price_index": "price_index.parquet"},
    )
    on_spark = run_historical_reference(costs, connection=connect("pyspark", session=spark_session))
    on_duckdb = run_historical_reference(costs)
    assert on_spark.estimate == pytest.approx(on_duckdb.estimate, rel=1e-12)
    assert on_spark.ci_low == pytest.approx(on_duckdb.ci_low, rel=1e-9)
    assert on_spark.extras["break_even_month"] == on_duckdb.extras["break_even_month"]
    # options.backend: pyspark picks up the running session.
    costs.options["backend"] = "pyspark"
    by_option = run_historical_reference(costs)
    assert by_option.extras["backend"] == "pyspark"
    assert by_option.estimate == pytest.approx(on_duckdb.estimate, rel=1e-12)
