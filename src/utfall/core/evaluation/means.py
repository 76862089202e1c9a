"""Difference in means between a treated and a comparison group."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from statsmodels.regression.linear_model import OLS  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation._assemble import dropped_note, finish
from utfall.core.evaluation.inference import Inference, IntArray, shuffle_units
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = ["SE_KINDS", "difference_in_means", "require_clusters"]

SE_KINDS = ("hc2", "classical")
FEW_CLUSTERS = 30
MIN_CLUSTERS = 5


def require_clusters(
    arm_of_cluster: list[set[float]], column: str, *, per_arm: int = 2, total: int = MIN_CLUSTERS
) -> list[str]:
    """DataInvalid when there are too few clusters for CR1; a note when there are few.

    ``arm_of_cluster`` lists, per cluster, the treatment values found in it. An arm
    with a single cluster makes the CR1 variance of the contrast degenerate, and with
    fewer than ``total`` clusters the t reference with ``G - 1`` df is useless.
    """
    treated = sum(1 for arms in arm_of_cluster if 1.0 in arms)
    control = sum(1 for arms in arm_of_cluster if 0.0 in arms)
    if treated < per_arm or control < per_arm or len(arm_of_cluster) < total:
        raise DataInvalid(
            "too few clusters for cluster-robust inference",
            [
                Finding(
                    code="too_few_clusters",
                    message=(
                        f"cluster-robust standard errors need at least {total} clusters "
                        f"({column}), {per_arm} or more of them with treated and {per_arm} or "
                        f"more with control rows; found {len(arm_of_cluster)} clusters, "
                        f"{treated} with treated and {control} with control rows"
                        + (
                            "; with one or a few treated units, estimate it as twfe (a panel "
                            "of units by period) with ci.method: randomisation, inference "
                            "over units that is valid for any number of treated units"
                            if treated < per_arm
                            else ""
                        )
                    ),
                    field_name=column,
                )
            ],
        )
    if len(arm_of_cluster) < FEW_CLUSTERS:
        return [
            f"only {len(arm_of_cluster)} clusters: cluster-robust t-tests with G-1 degrees of "
            "freedom can still over-reject; a permutation test is a useful check"
        ]
    return []


def difference_in_means(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    cluster: str | None = None,
    se: str = "hc2",
    inference: Inference | None = None,
) -> Estimate:
    """Mean outcome of the treated minus that of the comparison group.

    Standard errors: ``hc2`` (default; for two groups this is the unequal-variance
    ``s1²/n1 + s0²/n0``, with Welch–Satterthwaite degrees of freedom, i.e. Welch's
    t-test) or ``classical`` (pooled variance, ``n - 2`` df). With ``cluster`` the
    standard error is CR1 clustered on that column with ``G - 1`` df. Rows with a
    missing outcome or treatment are left out (and counted in a note).
    """
    inference = inference or Inference()
    if se not in SE_KINDS:
        raise SpecInvalid(f"se: {se!r} is not one of {', '.join(SE_KINDS)}")
    _frame.require_columns(frame, {"outcome": outcome, "treatment": treatment, "unit": cluster})
    data, dropped = _frame.complete_rows(frame, [outcome, treatment, cluster])
    y = _frame.numeric(data, outcome, "outcome")
    d = _frame.binary(data, treatment, "treatment")
    _frame.require_both_groups(d, treatment)
    notes = dropped_note(dropped, [outcome, treatment, cluster])
    n1, n0 = int(np.sum(d == 1)), int(np.sum(d == 0))
    estimate = float(y[d == 1].mean() - y[d == 0].mean())
    extras: dict[str, Any] = {
        "mean_treated": float(y[d == 1].mean()),
        "mean_control": float(y[d == 0].mean()),
    }

    if cluster is None:
        if min(n1, n0) < 2:
            raise DataInvalid(
                "a group has a single row",
                [
                    Finding(
                        code="group_too_small",
                        message="each group needs at least 2 rows to estimate a variance",
                        field_name=treatment,
                    )
                ],
            )
        v1, v0 = float(np.var(y[d == 1], ddof=1)), float(np.var(y[d == 0], ddof=1))
        if se == "classical":
            pooled = ((n1 - 1) * v1 + (n0 - 1) * v0) / (n1 + n0 - 2)
            std_error = math.sqrt(pooled * (1 / n1 + 1 / n0))
            df: float | None = n1 + n0 - 2
        else:
            a, b = v1 / n1, v0 / n0
            std_error = math.sqrt(a + b)
            df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1)) if a + b > 0 else math.nan
        units = _frame.UnitIndex(np.arange(len(y), dtype=np.int64), len(y))
        unit_d = d
        se_label = se
    else:
        codes, count = _frame.factorize(data[cluster])
        units = _frame.UnitIndex(codes, count)
        arms = [set(np.unique(d[rows]).tolist()) for rows in units.rows]
        notes += require_clusters(arms, cluster)
        design = np.column_stack([np.ones_like(d), d])
        fit = OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
        std_error = float(fit.bse[1])
        df = float(count - 1)
        extras["n_clusters"] = count
        constant = all(len(a) == 1 for a in arms)
        unit_d = units.first(d) if constant else np.full(count, np.nan)
        se_label = "cr1"

    def on_rows(rows: IntArray) -> float:
        treated = d[rows] == 1
        return float(y[rows][treated].mean() - y[rows][~treated].mean())

    def boot_stat(sample: IntArray) -> float:
        rows, _ = units.expand(sample)
        return on_rows(rows)

    by_arm = (
        [np.flatnonzero(unit_d == 1), np.flatnonzero(unit_d == 0)]
        if not np.isnan(unit_d).any()
        else [np.arange(units.count, dtype=np.int64)]
    )

    perm_stat = None
    if not np.isnan(unit_d).any():
        row_unit = units.codes

        def perm_stat(rng: np.random.Generator) -> tuple[float, float]:
            drawn = shuffle_units(rng, unit_d)[row_unit] == 1
            a = y[drawn].mean() - y[~drawn].mean()
            b = d[drawn].mean() - d[~drawn].mean()
            return float(a), float(b)

    elif inference.method == "permutation":
        raise SpecInvalid(
            "ci.method: 'permutation' needs the treatment to be the same on every row of a "
            f"cluster ({cluster!r}); it is not"
        )

    extras["se"] = se_label
    return finish(
        method="difference_in_means",
        estimate=estimate,
        std_error=std_error,
        df=df,
        inference=inference,
        n_treated=n1,
        n_control=n0,
        n_obs=len(y),
        outcome=outcome,
        estimand="difference in mean outcome (treated - comparison)",
        notes=notes,
        extras=extras,
        bootstrap_statistic=boot_stat,
        bootstrap_strata=by_arm,
        permutation_statistic=perm_stat,
    )
