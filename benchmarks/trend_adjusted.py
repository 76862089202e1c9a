"""Trend-adjusted saving over many employee-month rows (DESIGN.md 2.2).

Three timings over the same Parquet file (default 10 million rows), all in this run:

* **floor** — a bare DuckDB ``SELECT employee, sum(sick_days) … GROUP BY employee``
  scan of the file on an open connection, fetched to Arrow: no engine does the
  per-employee step faster;
* **utfall** — the point estimate of
  :func:`utfall.services.evaluation_scale.run_trend_adjusted` (``interval=False``):
  Ibis on DuckDB (monthly totals of both periods, one pass), the trend index, the
  estimator and its monthly series;
* **pandas** — a straightforward pandas implementation of the formula as the
  contract states it, per employee (read, merge the weights, group by employee);
  for reference also pandas running utfall's own algorithm (monthly totals).

The contenders run in interleaved rounds and each keeps its best time, so load
from other processes falls on all of them alike.

Targets: utfall within 3× of the floor, at least 5× faster than pandas, and the
same saving as pandas. Then the 1,000-replicate employee bootstrap alone (time
and peak memory of its numpy allocations, by tracemalloc), and the whole estimate
with an interval, which adds a second pass for the per-employee scores.

    python -m benchmarks.trend_adjusted --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._common import DEFAULT_WORK, best_of, print_header
from utfall.adapters.files import read_arrow
from utfall.analytics import connect, employee_scores, monthly_totals, read_table
from utfall.core.evaluation.trend_adjusted import SickLeaveMonths, bootstrap_means, score_weights
from utfall.services import evaluation_scale
from utfall.synth import generate

NAME = "trend_adjusted"
QUICK_ARGS = ["--rows", "500000", "--repeat", "1", "--reps", "100"]
ROWS_PER_EMPLOYEE = 72
DAY_VALUE = 2450.0


def ensure_data(rows: int, seed: int = 2016) -> Path:
    """The sick-leave data set with at least ``rows`` rows (generated once, then reused)."""
    employees = -(-rows // ROWS_PER_EMPLOYEE)
    out = DEFAULT_WORK / f"sick-leave-{employees}"
    manifest = out / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        if meta.get("size") == employees and meta.get("seed") == seed:
            return out
    generate("sick-leave", out, seed=seed, size=employees, contract_tables=False)
    return out


def _spec(data: Path, *, ci: str, reps: int = 999) -> SimpleNamespace:
    return SimpleNamespace(
        data=data / "employee_months.parquet",
        method="trend_adjusted",
        outcome="sick_days",
        treatment=None,
        unit="employee",
        time="month_index",
        post="period",
        covariates=[],
        subgroup=None,
        ci=SimpleNamespace(method=ci, level=0.95, reps=reps),
        seed=1,
        options={"trend_index": "slt_index.parquet", "day_value": DAY_VALUE},
    )


def run_trend_adjusted(spec: SimpleNamespace, **options: Any) -> Any:
    """utfall's trend-adjusted estimate for a stand-alone spec over the analysis file: the
    rows as a lazy Ibis table (the file is not read into memory), the index as Arrow."""
    return evaluation_scale.run_trend_adjusted(
        spec,
        data=lambda connection: read_table(connection, spec.data),
        trend_index=read_arrow(spec.data.parent / spec.options["trend_index"]),
        where=str(spec.data),
        **options,
    )


def floor_scan(path: Path, con: duckdb.DuckDBPyConnection) -> Any:
    """The floor: one DuckDB GROUP BY over the file on an open connection, fetched to Arrow."""
    return con.sql(
        f"SELECT employee, sum(sick_days) AS days FROM read_parquet('{path}') GROUP BY employee"
    ).to_arrow_table()


def pandas_saving(data: Path) -> float:
    """A straightforward pandas implementation of the same saving (total SEK)."""
    months = pd.read_parquet(data / "employee_months.parquet")
    slt = pd.read_parquet(data / "slt_index.parquet")
    wide = slt.pivot(index="month_index", columns="period", values="slt")
    weights = (wide["contract"] / wide["reference"]).rename("weight").reset_index()
    months["month_index"] = months["month_index"].astype("int64")
    weights["month_index"] = weights["month_index"].astype("int64")
    merged = months.merge(weights, on="month_index", how="left")
    reference = merged["period"] == "reference"
    merged["expected"] = np.where(reference, merged["sick_days"] * merged["weight"], 0.0)
    merged["observed"] = np.where(reference, 0.0, merged["sick_days"])
    per_employee = merged.groupby("employee")[["expected", "observed"]].sum()
    diff = per_employee["expected"] - per_employee["observed"]
    return max(float(diff.mean()) * len(per_employee) * DAY_VALUE, 0.0)


def pandas_saving_monthly(data: Path) -> float:
    """pandas with utfall's algorithm: monthly totals per period, then the formula."""
    months = pd.read_parquet(
        data / "employee_months.parquet", columns=["period", "month_index", "sick_days"]
    )
    slt = pd.read_parquet(data / "slt_index.parquet")
    wide = slt.pivot(index="month_index", columns="period", values="slt")
    totals = months.groupby(["month_index", "period"], observed=True).sick_days.agg(
        ["sum", "count"]
    )
    days = totals["sum"].unstack("period")
    heads = totals["count"].unstack("period")
    weight = (wide["contract"] / wide["reference"]).loc[days.index]
    expected = (weight * days["reference"] / heads["reference"]).sum()
    observed = (days["contract"] / heads["contract"]).sum()
    return max((expected - observed) * heads["contract"].mean() * DAY_VALUE, 0.0)


def interleaved(
    rounds: int, runs: dict[str, Any]
) -> tuple[dict[str, tuple[float, Any]], dict[str, float]]:
    """Best (and median) time of each function over rounds that run them in turn.

    Interleaving spreads any load from other processes evenly over the contenders.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, func in runs.items():
            start = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - start)
    best = {name: (min(times[name]), results[name]) for name in runs}
    return best, {name: float(np.median(times[name])) for name in runs}


def thread_scaling(data: Path, rounds: int) -> dict[int, dict[str, float]]:
    """Best times of floor, utfall and pandas with 1 thread and with every core.

    DuckDB gets ``threads`` on its own database, pyarrow (pandas' Parquet reader)
    the same CPU count; pandas' merge and group-by run on one core either way.
    Shows how each contender gains from a second core, which a two-core machine
    cannot show beyond that.
    """
    parquet = data / "employee_months.parquet"
    cores = os.cpu_count() or 1
    default_cpus = pa.cpu_count()
    result: dict[int, dict[str, float]] = {}
    try:
        for threads in sorted({1, cores}):
            pa.set_cpu_count(threads)
            floor_con = duckdb.connect(config={"threads": threads})
            con = connect("duckdb", threads=threads)
            runs = {
                "floor": lambda fc=floor_con: floor_scan(parquet, fc),
                "utfall": lambda c=con: run_trend_adjusted(
                    _spec(data, ci="analytic"), connection=c, interval=False
                ),
                "pandas": lambda: pandas_saving(data),
            }
            for func in runs.values():
                func()
            best, _ = interleaved(rounds, runs)
            result[threads] = {name: seconds for name, (seconds, _) in best.items()}
            floor_con.close()
    finally:
        pa.set_cpu_count(default_cpus)
    return result


def employee_scores_of(data: Path) -> np.ndarray:
    """The per-employee scores, computed the way the service does."""
    con = connect()
    months = read_table(con, data / "employee_months.parquet")
    totals = monthly_totals(
        months, time="month_index", outcome="sick_days", period="period"
    ).to_pyarrow()
    slt = pd.read_parquet(data / "slt_index.parquet")
    wide = slt.pivot(index="month_index", columns="period", values="slt")
    monthly = SickLeaveMonths.from_arrays(
        month=totals["time"].to_numpy(),
        reference_days=totals["reference_days"].to_numpy(),
        reference_headcount=totals["reference_rows"].to_numpy(),
        contract_days=totals["contract_days"].to_numpy(),
        contract_headcount=totals["contract_rows"].to_numpy(),
        reference_index=wide.loc[totals["time"].to_numpy(), "reference"].to_numpy(),
        contract_index=wide.loc[totals["time"].to_numpy(), "contract"].to_numpy(),
    )
    reference_weight, contract_weight = score_weights(monthly)
    weights = ibis.memtable(
        {
            "time": totals["time"].to_pylist(),
            "reference_weight": reference_weight,
            "contract_weight": contract_weight,
        }
    )
    result = employee_scores(
        months,
        weights,
        unit="employee",
        time="month_index",
        outcome="sick_days",
        period="period",
    ).to_pyarrow()
    return result["score"].to_numpy()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trend_adjusted")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="best of this many rounds")
    parser.add_argument("--reps", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    print_header(f"trend-adjusted saving over {args.rows:,} employee-month rows")
    data = ensure_data(args.rows)
    parquet = data / "employee_months.parquet"

    floor_con = duckdb.connect()
    floor_scan(parquet, floor_con)  # warm the file cache and DuckDB's Parquet reader
    run_trend_adjusted(_spec(data, ci="analytic"))  # warm Ibis' compiler

    timed, medians = interleaved(
        args.repeat,
        {
            "floor": lambda: floor_scan(parquet, floor_con),
            "utfall": lambda: run_trend_adjusted(_spec(data, ci="analytic"), interval=False),
            "pandas": lambda: pandas_saving(data),
            "pandas_monthly": lambda: pandas_saving_monthly(data),
        },
    )
    t_floor = timed["floor"][0]
    t_utfall, est = timed["utfall"]
    t_pandas, pandas_value = timed["pandas"]
    t_pandas_monthly, pandas_monthly_value = timed["pandas_monthly"]
    rows = est.extras["rows"]
    agree = all(
        abs(est.estimate - v) <= 1e-9 * max(abs(v), 1.0)
        for v in (pandas_value, pandas_monthly_value)
    )

    # The bootstrap alone, on the per-employee scores the service computes.
    scores = employee_scores_of(data)
    tracemalloc.start()
    start = time.perf_counter()
    bootstrap_means(scores, args.reps, seed=1)
    t_boot = time.perf_counter() - start
    _, boot_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t_full, full = best_of(
        1, lambda: run_trend_adjusted(_spec(data, ci="bootstrap", reps=args.reps))
    )
    t_analytic, _ = best_of(args.repeat, lambda: run_trend_adjusted(_spec(data, ci="analytic")))
    scaling = thread_scaling(data, args.repeat)

    result = {
        "rows": rows,
        "employees": len(scores),
        "floor_seconds": t_floor,
        "utfall_seconds": t_utfall,
        "pandas_seconds": t_pandas,
        "utfall_over_floor": t_utfall / t_floor,
        "pandas_over_utfall": t_pandas / t_utfall,
        "pandas_monthly_seconds": t_pandas_monthly,
        "median_seconds": medians,
        "median_pandas_over_utfall": medians["pandas"] / medians["utfall"],
        "pandas_monthly_over_utfall": t_pandas_monthly / t_utfall,
        "saving_sek": est.estimate,
        "pandas_saving_sek": pandas_value,
        "same_as_pandas": agree,
        "bootstrap_reps": args.reps,
        "bootstrap_seconds": t_boot,
        "bootstrap_peak_mib": boot_peak / 2**20,
        "bootstrap_estimate_seconds": t_full,
        "analytic_estimate_seconds": t_analytic,
        "bootstrap_ci": [full.ci_low, full.ci_high],
        "thread_scaling": scaling,
    }
    print(f"rows {rows:,}, employees {len(scores):,}")
    print(f"floor  (DuckDB GROUP BY scan)    {t_floor:8.3f} s")
    print(
        f"utfall (Ibis on DuckDB + core)   {t_utfall:8.3f} s   "
        f"{t_utfall / t_floor:5.2f}x the floor (target <= 3x)"
    )
    print(
        f"pandas (straightforward)         {t_pandas:8.3f} s   "
        f"utfall is {t_pandas / t_utfall:5.1f}x faster (target >= 5x)"
    )
    print(
        f"pandas (utfall's monthly algorithm) {t_pandas_monthly:5.3f} s   "
        f"utfall is {t_pandas_monthly / t_utfall:5.1f}x faster"
    )
    print(
        "medians: "
        + ", ".join(f"{name} {value:.3f} s" for name, value in medians.items())
        + f"; pandas / utfall {medians['pandas'] / medians['utfall']:.1f}x"
    )
    print(f"saving {est.estimate:,.0f} SEK; pandas {pandas_value:,.0f} SEK; equal: {agree}")
    print(
        f"bootstrap {args.reps} replicates over {len(scores):,} employees: {t_boot:.2f} s, "
        f"peak numpy memory {boot_peak / 2**20:.1f} MiB"
    )
    print(
        f"whole estimate with the interval (second pass over the rows): analytic "
        f"{t_analytic:.2f} s, bootstrap {t_full:.2f} s"
    )
    for threads, best in scaling.items():
        print(
            f"{threads} thread(s): floor {best['floor']:.3f} s, utfall {best['utfall']:.3f} s, "
            f"pandas {best['pandas']:.3f} s; pandas / utfall {best['pandas'] / best['utfall']:.1f}x, "
            f"pandas / floor {best['pandas'] / best['floor']:.1f}x"
        )
    return result


if __name__ == "__main__":
    main()
