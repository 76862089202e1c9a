"""Settling a rate card from stored rows against the floor (issue 13, performance).

The data are ``utfall synth ips --size 100000`` (100,000 participants, about 300,000
outcome events), read once through the contract's declaration as an import would
check them, and held in memory as Arrow — what a table provider hands out of its
stored rows (``StoredTables`` caches the merged Arrow per data state). The contract
is the one the scenario's manifest names (its ``contracts``), the evaluation the one
whose method is ``rate_card``; nothing here names either.

Contenders, in interleaved rounds (each keeps its best and median time, so load from
other processes falls on all of them alike):

* **floor** — a bare DuckDB query on an open connection over the same Arrow events:
  the first achievement per participant and outcome, counted per outcome
  (``SELECT outcome, count(*) FROM (SELECT participant, outcome, min(achieved_on) …
  GROUP BY participant, outcome) GROUP BY outcome``); no rate card can do less;
* **evaluate** — ``services.evaluation.evaluate`` of the rate card: participants
  joined, every rule, prices by group, caps, counts, funnel and subgroups;
* **settle** — ``services.contracts.contract_settle``, the one pipeline: the
  evaluation, the tables' digests (computed once per provider, as a stored provider
  keeps them per data state), the contract's formulas and payments.

Then, once each: ``settle`` as of a day (``until``: the tables are filtered to what
was known that day and their digests computed afresh), and the peak memory of floor,
evaluate and settle, each measured in a child process as the growth of its peak
resident set over what it held after loading the data.

    python -m benchmarks.rate_card --size 100000 --rounds 9
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchmarks._common import DEFAULT_WORK, ROOT, print_header

NAME = "rate_card"
QUICK_ARGS = ["--size", "5000", "--rounds", "3"]
SCENARIO = "ips"
TARGET = 3.0


def ensure_data(size: int, seed: int = 2016) -> Path:
    """``utfall synth ips --size SIZE`` in out/bench (generated once, then reused), with each
    declared table also as Parquet (conformed to the declaration once)."""
    from utfall.synth import generate

    out = DEFAULT_WORK / f"{SCENARIO}-{size}"
    manifest = out / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        if meta.get("size") == size and meta.get("seed") == seed and meta.get("parquet"):
            return out
    generate(SCENARIO, out, seed=seed, size=size)
    meta = json.loads(manifest.read_text())
    contract = _contract(meta)
    from utfall.adapters.files import DirectoryTables

    tables = DirectoryTables(out, contract.data)
    for name in meta["tables"]:
        pq.write_table(tables.table(name), out / f"{name}.parquet")
    meta["parquet"] = True
    manifest.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def _contract(meta: dict[str, Any]) -> Any:
    from utfall.adapters.files import contract_read

    (identifier,) = meta["contracts"]
    return contract_read(ROOT / "examples" / "contracts" / f"{identifier}.yaml")


def _setup(data: Path) -> dict[str, Any]:
    """The contract, its rate card, the tables in memory and the floor's connection."""
    from utfall.adapters.files import DirectoryTables
    from utfall.analytics import duckdb_cursor
    from utfall.services.evaluation import EvaluationContext
    from utfall.services.tables import ArrowTables

    meta = json.loads((data / "manifest.json").read_text())
    contract = _contract(meta)
    name, spec = next((n, s) for n, s in contract.evaluations.items() if s.method == "rate_card")
    files = DirectoryTables(data, contract.data)
    tables = ArrowTables({t: files.table(t) for t in meta["tables"]}, origin="stored rows")
    declared = contract.data.table(spec.data)
    outcome = str(spec.options.get("outcome_column", "outcome"))
    cursor = duckdb_cursor()
    cursor.register("events", tables.table(spec.data))
    floor_sql = (
        f'SELECT "{outcome}", count(*) FROM (SELECT participant, "{outcome}", '
        f'min("{declared.date}") FROM events GROUP BY participant, "{outcome}") '
        f'GROUP BY "{outcome}"'
    )
    context = EvaluationContext(
        declaration=contract.data,
        periods=contract.periods,
        parameters={n: p.default for n, p in contract.parameters.items()},
        parties=contract.parties,
    )
    return {
        "contract": contract,
        "evaluation": name,
        "spec": spec,
        "tables": tables,
        "cursor": cursor,
        "floor_sql": floor_sql,
        "context": context,
        "participants": tables.table("participants").num_rows,
        "events": tables.table(spec.data).num_rows,
    }


def _runs(setup: dict[str, Any]) -> dict[str, Any]:
    from utfall.services.contracts import contract_settle
    from utfall.services.evaluation import evaluate

    return {
        "floor": lambda: setup["cursor"].execute(setup["floor_sql"]).fetchall(),
        "evaluate": lambda: evaluate(setup["spec"], setup["tables"], setup["context"]),
        "settle": lambda: contract_settle(setup["contract"], tables=setup["tables"]),
    }


def interleaved(rounds: int, runs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Best and median time of each function over rounds that run them in turn."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, func in runs.items():
            start = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - start)
    return {
        name: {
            "best": min(times[name]),
            "median": statistics.median(times[name]),
            "result": results[name],
        }
        for name in runs
    }


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def child(data: Path, contender: str) -> dict[str, Any]:
    """In a fresh process: load the data, then one run of ``contender`` — its time and the
    growth of the peak resident set over the resident set after loading (MiB)."""
    setup = _setup(data)
    run = _runs(setup)[contender]
    try:
        # Resets the peak resident set to the current one (Linux ≥ 4.0).
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    before = _status("VmRSS")
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    return {
        "seconds": seconds,
        "rss_before_mib": before,
        "peak_growth_mib": peak - before,
        "peak_reset": reset,
    }


def _memory(data: Path, contender: str) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.rate_card",
        "--child",
        contender,
        "--data",
        str(data),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rate_card")
    parser.add_argument("--size", type=int, default=100_000, help="participants")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--child", choices=("floor", "evaluate", "settle"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.data, args.child)))
        return {}
    print_header(f"rate card over {args.size:,} participants")
    data = ensure_data(args.size)
    setup = _setup(data)
    runs = _runs(setup)
    for run in runs.values():
        run()  # warm: DuckDB, the provider's digests, imports
    timed = interleaved(args.rounds, runs)
    estimate = timed["evaluate"]["result"]
    settlement = timed["settle"]["result"].settlement
    floor = timed["floor"]["best"]
    contract = setup["contract"]
    from utfall.services.contracts import contract_settle

    period_end = max(p.end for p in contract.periods.values())
    start = time.perf_counter()
    dated = contract_settle(contract, tables=setup["tables"], until=period_end)
    as_of_seconds = time.perf_counter() - start
    memory = {name: _memory(data, name) for name in runs}
    value = estimate.extras["value_sek"]
    paid = [p for p in settlement.payments]
    result = {
        "participants": setup["participants"],
        "events": setup["events"],
        "rounds": args.rounds,
        "seconds": {k: {"best": v["best"], "median": v["median"]} for k, v in timed.items()},
        "evaluate_over_floor": timed["evaluate"]["best"] / floor,
        "settle_over_floor": timed["settle"]["best"] / floor,
        "median_settle_over_floor": timed["settle"]["median"] / timed["floor"]["median"],
        "settle_as_of_seconds": as_of_seconds,
        "as_of": period_end.isoformat() if isinstance(period_end, dt.date) else str(period_end),
        "memory": memory,
        "value_sek": value,
        "payments": {p.id: str(p.amount) for p in paid},
        "as_of_value": str(dated.settlement.inputs.get(next(iter(contract.inputs)))),
        "counts": estimate.extras["counts"],
        "uncounted": estimate.extras["uncounted"],
    }
    print(f"participants {result['participants']:,}, events {result['events']:,}")
    for name, label in (
        ("floor", "floor (bare DuckDB first achievements)"),
        ("evaluate", "evaluate (the rate card)"),
        ("settle", "settle (contract_settle, the pipeline)"),
    ):
        best, median = timed[name]["best"], timed[name]["median"]
        ratio = best / floor
        print(
            f"{label:42s} best {best:7.3f} s  median {median:7.3f} s  {ratio:5.2f}x the floor"
            f"  peak +{memory[name]['peak_growth_mib']:6.1f} MiB"
        )
    verdict = "met" if result["settle_over_floor"] <= TARGET else "NOT met"
    print(f"settle within {TARGET:g}x of the floor: {verdict}")
    print(
        f"settle as of {result['as_of']} (tables filtered, digests afresh): {as_of_seconds:.3f} s"
    )
    print(f"value {value} SEK; payments {result['payments']}")
    return result


if __name__ == "__main__":
    main()
