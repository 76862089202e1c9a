"""Monte Carlo of contract payouts: the vectorised evaluator against the exact engine in a loop.

For the Norrköping contract (and the Botkyrka sick-leave contract, whose formulas
divide without rounding and so exercise the float-with-error-bound path):

* **vectorised** — :func:`utfall.core.finance.vectorised.settle_vectorised` on
  N scenarios at once (best of ``--repeat``);
* **simulate** — the whole ``utfall simulate`` service: contract parsing, drawing
  the outcomes, settling, payout summaries, the per-scenario IRR and the check of
  200 scenarios against the exact engine;
* **exact loop** — :func:`utfall.core.contracts.settle`, the ``Decimal`` engine,
  scenario by scenario on ``--loop`` scenarios (default 10,000), *extrapolated*
  linearly to N (it is a plain loop: time per scenario is constant).

The ratio is the extrapolated loop time over the vectorised time. Every run also
checks that the vectorised figures of the loop's scenarios equal the exact ones.

    python -m benchmarks.simulate_bench --scenarios 1000000 --loop 10000
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import best_of, print_header
from utfall.adapters.files import contract_read, facts_read
from utfall.adapters.finance import finance_plan_read
from utfall.core.contracts import settle
from utfall.core.finance.vectorised import (
    Fixed,
    check_agreement,
    fixed_from_floats,
    settle_vectorised,
)
from utfall.services.finance import finance_simulate

NAME = "simulate"
ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "examples" / "contracts"
FACTS = ROOT / "examples" / "facts"
PLAN = ROOT / "examples" / "finance" / "norrkoping-plan.yaml"
QUICK_ARGS = ["--scenarios", "100000", "--loop", "1000", "--repeat", "1"]


def norrkoping_inputs(size: int, seed: int) -> dict[str, Any]:
    """Savings ~ N(8, 5) MSEK, school thresholds met with p = 0.6, 10 MSEK invested."""
    rng = np.random.default_rng(seed)
    savings, _ = fixed_from_floats(rng.normal(8e6, 5e6, size), 2)
    return {
        "invested_sek": Decimal("10000000"),
        "net_savings_sek": savings,
        "school_results_met": rng.random(size) < 0.6,
    }


def sick_leave_inputs(size: int, seed: int) -> dict[str, Any]:
    """The example facts with observed days ±20 % per month."""
    facts: dict[str, Any] = dict(facts_read(FACTS / "sick-leave-botkyrka.yaml").values)
    rng = np.random.default_rng(seed)
    observed = np.array([float(v) for v in facts["observed_days_per_employee"]])
    noisy = observed[None, :] * rng.uniform(0.8, 1.2, (size, observed.size))
    facts["observed_days_per_employee"] = Fixed(np.rint(noisy * 1e4).astype(np.int64), 4)
    return facts


def measure(name: str, inputs: Any, size: int, loop: int, repeat: int) -> dict[str, Any]:
    """Vectorised time for ``size`` scenarios, exact loop time for ``loop`` of them."""
    contract = contract_read(CONTRACTS / f"{name}.yaml")
    columns = inputs(size, seed=1)
    seconds, result = best_of(repeat, lambda: settle_vectorised(contract, columns, size=size))
    rows = range(loop)
    facts = [result.facts(row) for row in rows]
    start = time.perf_counter()
    for row_facts in facts:
        settle(contract, row_facts)
    loop_seconds = time.perf_counter() - start
    disagreements = check_agreement(result, list(range(min(loop, 2000))))
    extrapolated = loop_seconds / loop * size
    return {
        "contract": name,
        "scenarios": size,
        "vectorised_seconds": seconds,
        "fallback_scenarios": len(result.fallback),
        "refused_scenarios": int((~result.valid).sum()),
        "exact_loop_scenarios": loop,
        "exact_loop_seconds": loop_seconds,
        "exact_loop_per_scenario_us": loop_seconds / loop * 1e6,
        "exact_loop_extrapolated_seconds": extrapolated,
        "ratio": extrapolated / seconds,
        "checked": min(loop, 2000),
        "disagreements": len(disagreements),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simulate_bench")
    parser.add_argument("--scenarios", type=int, default=1_000_000)
    parser.add_argument("--loop", type=int, default=10_000, help="scenarios of the exact loop")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}

    for name, inputs in (
        ("norrkoping-placed-children", norrkoping_inputs),
        ("sick-leave-botkyrka", sick_leave_inputs),
    ):
        print_header(f"{NAME}: {name}, {args.scenarios:,} scenarios")
        numbers = measure(name, inputs, args.scenarios, args.loop, args.repeat)
        results[name] = numbers
        print(f"vectorised:  {numbers['vectorised_seconds']:.3f} s (best of {args.repeat})")
        print(
            f"exact loop:  {numbers['exact_loop_seconds']:.2f} s for {args.loop:,} scenarios "
            f"({numbers['exact_loop_per_scenario_us']:.0f} µs each) → "
            f"{numbers['exact_loop_extrapolated_seconds']:.0f} s for {args.scenarios:,} (extrapolated)"
        )
        print(f"ratio:       {numbers['ratio']:.0f}× faster")
        print(
            f"exactness:   {numbers['checked']:,} scenarios compared with the exact engine, "
            f"{numbers['disagreements']} disagreement(s); {numbers['fallback_scenarios']} "
            "scenario(s) settled one by one near a rounding boundary"
        )

    print_header(f"{NAME}: utfall simulate (service), Norrköping, {args.scenarios:,} scenarios")
    norrkoping = contract_read(CONTRACTS / "norrkoping-placed-children.yaml")
    seconds, outcome = best_of(
        args.repeat,
        lambda: finance_simulate(
            norrkoping,
            distributions=["net_savings_sek=normal(8e6, 5e6)", "school_results_met=bernoulli(0.6)"],
            facts=facts_read(FACTS / "norrkoping-placed-children.yaml"),
            plan=finance_plan_read(PLAN, norrkoping),
            size=args.scenarios,
        ),
    )
    parts = {k: round(v, 3) for k, v in outcome.seconds.items()}
    results["simulate_service"] = {"seconds": seconds, "parts": parts, "scenarios": args.scenarios}
    print(f"whole run:   {seconds:.3f} s (best of {args.repeat}): {parts}")
    print(
        f"result:      P(full repayment) {outcome.full_repayment:.4f}, P(premium) "
        f"{outcome.premium:.4f}, expected IRR {outcome.irr.mean * 100:.2f} %"
        if outcome.irr and outcome.full_repayment is not None and outcome.premium is not None
        else "result: –"
    )
    return results


if __name__ == "__main__":
    main()
