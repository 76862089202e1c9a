"""Run every benchmark: ``python -m benchmarks [--quick] [--rows N] [names…]``.

A benchmark is any module ``benchmarks/<name>.py`` (not starting with ``_``) with a
``main(argv) -> dict`` function; it prints its numbers and a ratio against a
baseline measured in the same run. A module may define ``QUICK_ARGS`` (small
sizes) for ``--quick``, a smoke test of the harness; modules without it are
skipped there. Results and the machine are recorded in ``docs/benchmarks.md``; the
numbers of the last run go to ``out/bench/results.json``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import time
from importlib import import_module
from pathlib import Path
from types import ModuleType

from benchmarks._common import DEFAULT_WORK, machine, print_header

# Run first, in this order; any other benchmark module follows alphabetically.
ORDER = ("trend_adjusted", "twfe", "synth_memory")


def discover() -> dict[str, ModuleType]:
    """Benchmark modules by name."""
    names = [
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_")
    ]
    ordered = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    modules = {name: import_module(f"benchmarks.{name}") for name in ordered}
    return {
        name: module for name, module in modules.items() if callable(getattr(module, "main", None))
    }


def main() -> None:
    """Parse the arguments and run the chosen benchmarks (all by default)."""
    benchmarks = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help=f"default: all of {', '.join(benchmarks)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, a harness check")
    parser.add_argument(
        "--rows", type=int, default=None, help="rows of the synth memory run (default 100M)"
    )
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(benchmarks)}")
    names = args.names or list(benchmarks)
    info = machine()
    print_header("machine")
    print(json.dumps(info, indent=2))
    results: dict[str, object] = {"machine": info}
    for name in names:
        module = benchmarks[name]
        if args.quick:
            argv = getattr(module, "QUICK_ARGS", None)
            if argv is None:
                print(f"\n({name}: no QUICK_ARGS, skipped in --quick)")
                continue
        else:
            argv = ["--rows", str(args.rows)] if name == "synth_memory" and args.rows else []
        start = time.perf_counter()
        results[name] = module.main(list(argv))
        print(f"({name}: {time.perf_counter() - start:.0f} s)")
    DEFAULT_WORK.mkdir(parents=True, exist_ok=True)
    (DEFAULT_WORK / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {DEFAULT_WORK / 'results.json'}")


if __name__ == "__main__":
    main()
