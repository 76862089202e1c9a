"""The ``share_change`` method: the change in the share meeting an indicator against its baseline.

For outcomes reported as aggregate counts, as a constellation of the national
outcomes fund reports them (seed 003, the common follow-up protocol): a declared
series holds, per report, the individuals measured (``n``) and those meeting the
indicator (``count``); one row is the baseline. The method compares the latest row
(dated after the baseline, up to the day the data is taken) with the baseline:

* ``share`` = count / n now, ``baseline_share`` = count / n at the baseline;
* ``change`` = share − baseline share, in the indicator's good direction (the option
  ``direction``: a fall counts for a lower-is-better indicator);
* ``units`` = max(change, 0) × n now — the verified outcome units, computed exactly
  from the counts (a fraction) and rounded *down* to ``places`` decimals (default 4),
  given as exact decimal text, so a contract prices it without a binary float;
* the estimate is the change and its interval the difference in means of the
  evaluation engine (:func:`utfall.core.evaluation.difference_in_means`, Welch / HC2 by
  default) on the individuals as 0/1 outcomes, now against the baseline, in the good
  direction. When the interval cannot be estimated (e.g. no variation at all) the units
  stand and the interval is left out, with a note.

Rows are the declared table's, filtered by ``where`` (e.g. one indicator of the series)
and dated up to the day the data is taken. ``empty: zero`` gives 0 units when there are
no rows, or no row after the baseline yet; a row without a baseline, two baselines, two
rows on one day or a count above its n are refused with the table, the day and the
column.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow.compute as pc

from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec, method_options
from utfall.errors import DataInvalid, Finding, SpecInvalid, UtfallError
from utfall.services.tables import TableProvider

__all__ = ["run_share_change", "units_of"]

DIRECTIONS = {"higher_is_better": 1, "lower_is_better": -1}


def units_of(
    *, n: int, count: int, baseline_n: int, baseline_count: int, direction: str, places: int = 4
) -> tuple[Fraction, Decimal]:
    """The exact change in the good direction and the units it gives, rounded down."""
    sign = DIRECTIONS[direction]
    change = sign * (Fraction(count, n) - Fraction(baseline_count, baseline_n))
    exact = max(change, Fraction(0)) * n
    scale = 10**places
    units = Decimal(math.floor(exact * scale)).scaleb(-places)
    return change, units


def _kept(table: Any, where: dict[str, Any]) -> Any:
    for column, value in where.items():
        wanted = value if isinstance(value, list) else [value]
        table = table.filter(
            pc.is_in(
                table.column(column), value_set=pc.cast(wanted, table.schema.field(column).type)
            )
        )
    return table


def _refuse(where: str, code: str, message: str, column: str | None = None) -> DataInvalid:
    return DataInvalid(f"{where}: {message}", [Finding(code, message, field_name=column)])


def _selection(spec: EvaluationSpec) -> str:
    if not spec.where:
        return ""
    return " (" + ", ".join(f"{k} = {v}" for k, v in spec.where.items()) + ")"


def run_share_change(spec: EvaluationSpec, tables: TableProvider, context: Any) -> Estimate:
    """The share change ``spec`` asks for (see the module docstring)."""
    options = method_options(spec)
    declaration = context.declaration
    declared = declaration.table(spec.data)
    if declared.per_participant:
        raise SpecInvalid(f"table: share_change reads a series of counts, not {spec.data}")
    date = declared.date
    n_column = options.get("n_column", "n")
    count_column = options.get("count_column", "count")
    baseline_column = options.get("baseline_column", "baseline")
    direction = options["direction"]
    places = options.get("places", 4)
    empty = options.get("empty", "error")
    where = tables.describe(spec.data) + _selection(spec)
    table = _kept(tables.table(spec.data), spec.where)
    rows = table.select([date, n_column, count_column, baseline_column]).to_pylist()
    for row in rows:
        n, count = row[n_column], row[count_column]
        if n is None or count is None or n <= 0 or not 0 <= count <= n:
            raise _refuse(
                where,
                "count-above-n",
                f"the row dated {row[date]} needs 0 ≤ {count_column} ≤ {n_column} and "
                f"{n_column} > 0 (it has {count_column} {count}, {n_column} {n})",
                count_column,
            )
    baselines = [r for r in rows if r[baseline_column]]
    if len(baselines) > 1:
        days = ", ".join(str(r[date]) for r in baselines)
        raise _refuse(
            where, "two-baselines", f"more than one baseline row ({days})", baseline_column
        )
    if rows and not baselines:
        raise _refuse(
            where,
            "no-baseline",
            f"no baseline row ({baseline_column} true) to compare the reports with",
            baseline_column,
        )
    if not rows:
        if empty == "zero":
            return _nothing(spec, direction, "no rows: no outcome measured, 0 units")
        raise _refuse(where, "no-rows", "no rows to compare with a baseline")
    baseline = baselines[0]
    reports = [r for r in rows if not r[baseline_column]]
    early = [r for r in reports if r[date] <= baseline[date]]
    if early:
        raise _refuse(
            where,
            "before-baseline",
            f"a report dated {early[0][date]} is not after the baseline ({baseline[date]})",
            date,
        )
    if not reports:
        if empty == "zero":
            return _nothing(
                spec, direction, f"no report after the baseline of {baseline[date]} yet: 0 units"
            )
        raise _refuse(where, "no-report", f"no report after the baseline of {baseline[date]}")
    latest = max(r[date] for r in reports)
    current = [r for r in reports if r[date] == latest]
    if len(current) > 1:
        raise _refuse(where, "two-reports", f"more than one report dated {latest}", date)
    return _estimate(spec, baseline, current[0], options, date, direction, places)


def _estimate(
    spec: EvaluationSpec,
    baseline: dict[str, Any],
    current: dict[str, Any],
    options: dict[str, Any],
    date: str,
    direction: str,
    places: int,
) -> Estimate:
    n_column = options.get("n_column", "n")
    count_column = options.get("count_column", "count")
    n, count = int(current[n_column]), int(current[count_column])
    base_n, base_count = int(baseline[n_column]), int(baseline[count_column])
    change, units = units_of(
        n=n,
        count=count,
        baseline_n=base_n,
        baseline_count=base_count,
        direction=direction,
        places=places,
    )
    sign = DIRECTIONS[direction]
    std_error = p_value = None
    bounds: tuple[float, float] | None = None
    ci_method = "none"
    notes: list[str] = []
    try:
        estimate = _difference_in_means(spec, n, count, base_n, base_count, options)
    except UtfallError as error:
        notes.append(f"no interval: the difference in means could not be estimated ({error})")
    else:
        std_error, p_value, ci_method = estimate.std_error, estimate.p_value, estimate.ci_method
        if estimate.ci_low is not None and estimate.ci_high is not None:
            low, high = sign * estimate.ci_low, sign * estimate.ci_high
            bounds = (min(low, high), max(low, high))
        notes.extend(estimate.notes)
    share, baseline_share = count / n, base_count / base_n
    explanation: dict[str, Any] = {
        "baseline": f"{base_count} of {base_n} on {baseline[date]}",
        "report": f"{count} of {n} on {current[date]}",
        "baseline_share": round(baseline_share, 6),
        "share": round(share, 6),
        "direction": direction,
        "change_in_good_direction": round(float(change), 6),
        "units": f"max(change, 0) × {n} = {units} (exact, rounded down to {places} decimals)",
    }
    if bounds is not None:
        explanation["change_ci"] = [round(bounds[0], 6), round(bounds[1], 6)]
    return Estimate(
        method="share_change",
        estimate=float(change),
        std_error=std_error,
        ci_low=None if bounds is None else bounds[0],
        ci_high=None if bounds is None else bounds[1],
        p_value=p_value,
        n_treated=n,
        n_control=base_n,
        n_obs=n + base_n,
        ci_method=ci_method,
        level=spec.ci.level,
        seed=spec.seed,
        outcome=count_column,
        estimand="change in the share meeting the indicator, in its good direction",
        notes=tuple(notes),
        extras={
            "units": format(units, "f"),
            "share": share,
            "baseline_share": baseline_share,
            "change": float(change),
            "n": n,
            "count": count,
            "baseline_n": base_n,
            "baseline_count": base_count,
            "baseline_on": str(baseline[date]),
            "report_on": str(current[date]),
            "explanation": explanation,
        },
    )


def _difference_in_means(
    spec: EvaluationSpec, n: int, count: int, base_n: int, base_count: int, options: dict[str, Any]
) -> Estimate:
    """The engine's difference in means on the individuals as 0/1 outcomes (now = 1)."""
    import numpy as np
    import pandas as pd

    from utfall.core.evaluation import difference_in_means
    from utfall.core.evaluation.inference import Inference

    outcome = np.concatenate(
        [np.ones(count), np.zeros(n - count), np.ones(base_count), np.zeros(base_n - base_count)]
    )
    now = np.concatenate([np.ones(n), np.zeros(base_n)])
    frame = pd.DataFrame({"y": outcome, "d": now})
    return difference_in_means(
        frame,
        outcome="y",
        treatment="d",
        se=options.get("se", "hc2"),
        inference=Inference(
            method=spec.ci.method,
            level=spec.ci.level,
            reps=spec.ci.reps,
            seed=spec.seed,
            interval=spec.ci.interval,
        ),
    )


def _nothing(spec: EvaluationSpec, direction: str, note: str) -> Estimate:
    return Estimate.exact(
        "share_change",
        0.0,
        0,
        level=spec.ci.level,
        outcome=None,
        estimand="change in the share meeting the indicator, in its good direction",
        notes=(note,),
        extras={
            "units": "0",
            "change": 0.0,
            "explanation": {"direction": direction, "units": note},
        },
    )
