"""``utfall synth sick-leave`` at scale: wall time and peak memory stay bounded.

Runs the generator as a separate process (so its peak resident memory is its
own, read from ``wait4``) twice: once small (the baseline, 1 million rows) and
once at ``--rows`` (default 100 million). Bounded memory means the ratio of the
two peaks stays near 1 while the row count grows a hundredfold.

    python -m benchmarks.synth_memory --rows 100000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from benchmarks._common import DEFAULT_WORK, ROOT, print_header, run_measured

NAME = "synth_memory"
QUICK_ARGS = ["--rows", "2000000"]
ROWS_PER_EMPLOYEE = 72
BASELINE_ROWS = 1_000_000


def _generate(rows: int, out_name: str, *, keep: bool) -> dict[str, Any]:
    out = DEFAULT_WORK / out_name
    employees = max(1, -(-rows // ROWS_PER_EMPLOYEE))
    argv = [
        sys.executable,
        "-m",
        "utfall.cli.main",
        "synth",
        "sick-leave",
        "--out",
        str(out),
        "--size",
        str(employees),
        "--json",
        # The analysis table only: the contract's CSV tables are import files, not this
        # benchmark's subject (bounded memory of the block-by-block Parquet writer).
        "--no-contract-tables",
    ]
    result = run_measured(argv)
    manifest = json.loads((out / "manifest.json").read_text())
    result["rows"] = manifest["tables"]["employee_months"]["rows"]
    result["parquet_mib"] = (out / "employee_months.parquet").stat().st_size / 2**20
    result["rows_per_second"] = result["rows"] / result["seconds"]
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synth_memory")
    parser.add_argument("--rows", type=int, default=100_000_000, help="rows of the big run")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    print_header(f"synth sick-leave: {args.rows:,} rows vs {BASELINE_ROWS:,} rows")
    ROOT.joinpath("out").mkdir(exist_ok=True)
    baseline = _generate(BASELINE_ROWS, "synth-baseline", keep=False)
    big = _generate(args.rows, "synth-big", keep=args.keep)
    ratio = big["peak_rss_mib"] / baseline["peak_rss_mib"]
    for label, r in (("baseline", baseline), ("big", big)):
        print(
            f"{label:>8}: {r['rows']:>13,} rows  {r['seconds']:8.1f} s  "
            f"peak RSS {r['peak_rss_mib']:8.1f} MiB  parquet {r['parquet_mib']:8.1f} MiB  "
            f"{r['rows_per_second'] / 1e6:6.2f} M rows/s"
        )
    print(
        f"peak memory ratio big/baseline: {ratio:.2f}x for {big['rows'] / baseline['rows']:.0f}x rows"
    )
    return {"baseline": baseline, "big": big, "peak_ratio": ratio}


if __name__ == "__main__":
    main()
