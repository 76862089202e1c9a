"""The same Ibis aggregation on Spark gives the same estimate as on DuckDB.

The contracts' own evaluations run on the tables ``utfall synth`` writes, once on
DuckDB and once with ``options.backend: pyspark`` (which picks up the running
session): the frame is the same, the heavy aggregation runs on Spark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.evaluation import EvaluationContext, evaluate
from utfall.synth import generate

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]

CONTRACTS = Path(__file__).resolve().parents[2] / "examples" / "contracts"


def _both(contract_file: str, evaluation: str, out: Path, **changes):
    contract = contract_read(CONTRACTS / contract_file)
    tables = DirectoryTables(out, contract.data)
    context = EvaluationContext(declaration=contract.data, periods=contract.periods)
    spec = contract.evaluations[evaluation].model_copy(update=changes)
    on_spark = spec.model_copy(update={"options": {**spec.options, "backend": "pyspark"}})
    return evaluate(on_spark, tables, context), evaluate(spec, tables, context)


def test_trend_adjusted_on_spark_equals_duckdb(spark_session, tmp_path):
    out = tmp_path / "sick-leave"
    generate("sick-leave", out, seed=3, size=1500)
    on_spark, on_duckdb = _both(
        "sick-leave-botkyrka.yaml", "sick_leave", out, subgroup="administration"
    )
    assert on_spark.extras["backend"] == "pyspark"
    assert on_duckdb.extras["backend"] == "duckdb"
    assert on_spark.estimate == pytest.approx(on_duckdb.estimate, rel=1e-12)
    assert on_spark.ci_low == pytest.approx(on_duckdb.ci_low, rel=1e-9)
    assert on_spark.ci_high == pytest.approx(on_duckdb.ci_high, rel=1e-9)
    assert on_spark.estimate > 0
    spark_groups = {s.label: s.estimate for s in on_spark.subgroups}
    duck_groups = {s.label: s.estimate for s in on_duckdb.subgroups}
    assert len(spark_groups) > 1
    assert spark_groups == pytest.approx(duck_groups, rel=1e-9)


def test_historical_reference_on_spark_equals_duckdb(spark_session, tmp_path):
    out = tmp_path / "norrkoping"
    generate("norrkoping", out, seed=3)
    on_spark, on_duckdb = _both("norrkoping-placed-children.yaml", "costs", out)
    assert on_spark.extras["backend"] == "pyspark"
    assert on_spark.estimate == pytest.approx(on_duckdb.estimate, rel=1e-12)
    assert on_spark.ci_low == pytest.approx(on_duckdb.ci_low, rel=1e-9)
    assert on_spark.extras["break_even_month"] == on_duckdb.extras["break_even_month"]
    assert on_duckdb.extras["price_indexed"] is True
