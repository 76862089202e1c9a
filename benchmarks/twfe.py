"""Two-way fixed effects on a panel of 1 million unit-periods, against pyfixest.

The panel: ``--units`` units × ``--periods`` periods (default 50,000 × 20), half of
the units treated from the middle period on (no staggering), outcome = unit
effect + period effect + 2.5 · treatment + noise. utfall's ``twfe``
(analytic, CR1 clustered by unit; looked up by name in ``utfall.core.evaluation``) is timed against ``pyfixest.feols("y ~ d | unit +
time")`` with the same clustering, both in this run; the coefficients must agree
to 1e-8.

    python -m benchmarks.twfe --units 50000 --periods 20
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import best_of, print_header
from utfall.core.evaluation.inference import Inference

NAME = "twfe"
QUICK_ARGS = ["--units", "2000", "--periods", "10", "--repeat", "1"]
EFFECT = 2.5


def panel(units: int, periods: int, seed: int = 1) -> pd.DataFrame:
    """A balanced panel with unit and period effects and a planted effect."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    treated_unit = rng.random(units) < 0.5
    d = (treated_unit[unit] & (time >= periods // 2)).astype(np.float64)
    y = (
        rng.normal(0, 2, units)[unit]
        + np.linspace(0, 1, periods)[time]
        + EFFECT * d
        + rng.normal(0, 1, units * periods)
    )
    return pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y})


def find_twfe() -> Any:
    """utfall's generic ``twfe`` estimator, wherever in utfall.core.evaluation it lives."""
    import pkgutil
    from importlib import import_module

    import utfall.core.evaluation as package

    for module in pkgutil.iter_modules(package.__path__):
        found = getattr(import_module(f"{package.__name__}.{module.name}"), "twfe", None)
        if callable(found):
            return found
    raise SystemExit("no twfe estimator in utfall.core.evaluation")


def run_utfall(frame: pd.DataFrame) -> tuple[float, float]:
    estimate = find_twfe()(
        frame, outcome="y", treatment="d", unit="unit", time="time", inference=Inference()
    )
    return float(estimate.estimate), float(estimate.std_error or np.nan)


def run_pyfixest(frame: pd.DataFrame) -> tuple[float, float]:
    import pyfixest as pf

    fit = pf.feols("y ~ d | unit + time", data=frame, vcov={"CRV1": "unit"})
    return float(fit.coef()["d"]), float(fit.se()["d"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its numbers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.twfe")
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    frame = panel(args.units, args.periods)
    print_header(f"TWFE on {len(frame):,} rows ({args.units:,} units × {args.periods} periods)")
    run_pyfixest(frame.head(1000))  # import and JIT warm-up
    run_utfall(frame.head(1000))
    t_utfall, (b_utfall, se_utfall) = best_of(args.repeat, lambda: run_utfall(frame))
    t_fixest, (b_fixest, se_fixest) = best_of(args.repeat, lambda: run_pyfixest(frame))
    difference = abs(b_utfall - b_fixest)
    print(f"utfall twfe  {t_utfall:8.2f} s   coefficient {b_utfall:.10f}  se {se_utfall:.6f}")
    print(f"pyfixest     {t_fixest:8.2f} s   coefficient {b_fixest:.10f}  se {se_fixest:.6f}")
    print(
        f"utfall / pyfixest time: {t_utfall / t_fixest:.2f}x; |coefficient difference| "
        f"{difference:.2e} ({'within' if difference <= 1e-8 else 'NOT within'} 1e-8)"
    )
    return {
        "rows": len(frame),
        "utfall_seconds": t_utfall,
        "pyfixest_seconds": t_fixest,
        "utfall_over_pyfixest": t_utfall / t_fixest,
        "coefficient_utfall": b_utfall,
        "coefficient_pyfixest": b_fixest,
        "coefficient_difference": difference,
        "se_utfall": se_utfall,
        "se_pyfixest": se_fixest,
    }


if __name__ == "__main__":
    main()
