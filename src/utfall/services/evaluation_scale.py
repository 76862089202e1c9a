"""Run the two scale-out estimators: trend-adjusted sick leave and the historical reference.

``run_trend_adjusted`` (sick leave, DESIGN.md 2.2) and ``run_historical_reference``
(Norrköping, 2.1) take the spec and its rows — an Arrow table, or a function that
opens a lazy Ibis table on a connection (a stand-alone spec over a large file) —
do the heavy aggregation in :mod:`utfall.analytics` with Ibis on DuckDB (default)
or Spark (``options.backend: pyspark``), and hand the small aggregated arrays to
the pure estimators in :mod:`utfall.core.evaluation`. Their auxiliary tables (the
trend index, the price index) are small and come as Arrow. ``where`` names the
rows' origin in messages.

Options of ``trend_adjusted`` — ``trend_index`` (required: the SLT table),
``trend_value`` (its index column, default ``slt``), ``trend_period`` and
``trend_time`` (its period and month columns, default the spec's ``post`` and
``time``), ``contract_value`` (the period value of the contract months, default
``contract``), ``day_value`` (SEK per sick day), ``scale`` (``total`` or
``per_employee``), ``employees`` (the head count the contract states),
``floor`` (apply ``max(…, 0)``, default true), ``reading`` (``reference_scaled``,
the default, or ``observed_adjusted``: seed 004's S_n = Σ s_i·SLT_r/SLT_i),
``backend``.

Options of ``historical_reference`` — ``trend`` (``empirical`` or ``linear``),
``start_month`` (default 0), ``horizon``, ``price_index`` (a table of
``price_month``/``price_value`` columns, default ``month``/``index``) with
``calendar`` (the data's calendar-month column, default ``month``),
``treated_value`` (for a string treatment column, default ``included``),
``subgroup_reference`` (``matched`` or ``pooled``), ``backend``.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from utfall.analytics import (
    BACKENDS,
    connect,
    employee_scores,
    monthly_totals,
    unit_month_costs,
)
from utfall.core.evaluation.historical_reference import CostPanel, historical_reference
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.trend_adjusted import SickLeaveMonths, score_weights, trend_adjusted
from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = ["run_historical_reference", "run_trend_adjusted"]

TREND_ADJUSTED_OPTIONS = {
    "trend_index",
    "trend_value",
    "trend_period",
    "trend_time",
    "contract_value",
    "day_value",
    "scale",
    "employees",
    "floor",
    "backend",
    "not_yet_observed",
    "reading",
}
HISTORICAL_REFERENCE_OPTIONS = {
    "trend",
    "start_month",
    "horizon",
    "price_index",
    "price_month",
    "price_value",
    "calendar",
    "treated_value",
    "subgroup_reference",
    "backend",
}


def _options(spec: Any, allowed: set[str], method: str) -> dict[str, Any]:
    options = dict(getattr(spec, "options", None) or {})
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise SpecInvalid(
            f"options.{unknown[0]}: not an option of {method}; "
            f"known options: {', '.join(sorted(allowed))}"
        )
    return options


def _ci(spec: Any) -> tuple[str, float, int]:
    ci = getattr(spec, "ci", None)
    method = getattr(ci, "method", None) or "bootstrap"
    level = float(getattr(ci, "level", None) or 0.95)
    reps = int(getattr(ci, "reps", None) or 999)
    return str(method), level, reps


def _number(options: dict[str, Any], name: str) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise SpecInvalid(f"options.{name}: {value!r} is not a number")
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise SpecInvalid(f"options.{name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SpecInvalid(f"options.{name}: {value!r} is not a finite number")
    return number


def _integer(options: dict[str, Any], name: str) -> int | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecInvalid(f"options.{name}: {value!r} is not a whole number")
    return int(value)


def _connection(options: dict[str, Any], connection: Any) -> Any:
    if connection is not None:
        return connection
    backend = options.get("backend", "duckdb")
    if backend not in BACKENDS:
        raise SpecInvalid(f"options.backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "pyspark":
        from pyspark.sql import SparkSession

        # A session the caller already started (spark-submit, a cluster) wins.
        return connect("pyspark", session=SparkSession.getActiveSession())
    return connect("duckdb")


def _open(con: Any, data: Any) -> Any:
    """The rows as an Ibis table on ``con``: a lazy table from an opener, or Arrow in memory."""
    if callable(data):
        try:
            return data(con)
        except ValueError as error:
            raise SpecInvalid(f"data: {error}") from None
        except (SpecInvalid, DataInvalid):
            raise
        except Exception as error:  # the backends raise their own types for unreadable files
            raise DataInvalid(
                "the data cannot be read as a table",
                [Finding(code="unreadable", message=str(error).splitlines()[0])],
            ) from None
    return ibis.memtable(data)


def _require(table: Any, where: str, columns: dict[str, str | None]) -> None:
    names = set(table.columns)
    for field, column in columns.items():
        if column is not None and column not in names:
            raise SpecInvalid(
                f"{field}: column {column!r} is not in {where} "
                f"(columns: {', '.join(sorted(names))})"
            )


def _arrow(expr: Any) -> pa.Table:
    return expr.to_pyarrow()


def _order(values: np.ndarray) -> np.ndarray:
    """A stable order of units, so results do not depend on the backend's row order."""
    return np.argsort(values, kind="stable")


def _trend_index(
    table: pa.Table, *, where: str, period: str, time: str, value: str, contract_value: Any
) -> tuple[dict[Any, tuple[float, float]], dict[Any, float]]:
    """Month index → (reference SLT, contract SLT) from the trend-index table, and month
    index → reference SLT for every reference month (also those with no contract value yet)."""
    for field, column in (
        ("options.trend_period", period),
        ("options.trend_time", time),
        ("options.trend_value", value),
    ):
        if column not in table.column_names:
            raise SpecInvalid(
                f"{field}: column {column!r} is not in {where} "
                f"(columns: {', '.join(sorted(table.column_names))})"
            )
    periods = table[period].to_pylist()
    times = table[time].to_pylist()
    values = table[value].to_pylist()
    findings: list[Finding] = []
    reference: dict[Any, float] = {}
    contract: dict[Any, float] = {}
    for row, (p, t, v) in enumerate(zip(periods, times, values, strict=True), start=1):
        is_contract = p == (contract_value or "contract") if isinstance(p, str) else bool(p)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            findings.append(
                Finding(
                    code="bad_index",
                    message=f"{v!r} is not a positive number",
                    file=where,
                    row=row,
                    field_name=value,
                )
            )
            continue
        target = contract if is_contract else reference
        if t in target:
            findings.append(
                Finding(
                    code="duplicate_month",
                    message=f"a second {'contract' if is_contract else 'reference'} "
                    f"value for {time} = {t}",
                    file=where,
                    row=row,
                    field_name=time,
                )
            )
        target[t] = float(v)
    if findings:
        raise DataInvalid(f"{where}: the trend index has problems", findings)
    return {t: (reference[t], contract[t]) for t in reference if t in contract}, reference


def run_trend_adjusted(
    spec: Any,
    *,
    data: Any,
    trend_index: pa.Table,
    where: str = "the data",
    connection: Any = None,
    interval: bool = True,
) -> Estimate:
    """The trend-adjusted sick-leave saving for ``spec`` (see the module docstring).

    ``data`` holds the employee months (Arrow, or an opener of a lazy Ibis table),
    ``trend_index`` the trend index. ``connection`` is an Ibis connection to use
    instead of ``options.backend``. ``interval=False`` gives the point estimate only
    (one pass over the data); otherwise a second pass computes the per-employee
    scores for the interval.
    """
    options = _options(spec, TREND_ADJUSTED_OPTIONS, "trend_adjusted")
    if getattr(spec, "covariates", None):
        raise SpecInvalid("covariates: trend_adjusted takes no covariates")
    unit = spec.unit or "employee"
    time = spec.time or "month_index"
    outcome = spec.outcome
    period = spec.post or "period"
    subgroup = getattr(spec, "subgroup", None)
    if not outcome:
        raise SpecInvalid("outcome: name the column of sick days")
    if "trend_index" not in options:
        raise SpecInvalid("options.trend_index: give the trend index (SLT) table")
    index_where = str(options["trend_index"])
    contract_value = options.get("contract_value", "contract")
    day_value = _number(options, "day_value")
    employees = _number(options, "employees")
    floor = options.get("floor", True)
    if not isinstance(floor, bool):
        raise SpecInvalid(f"options.floor: {floor!r} is not true or false")
    ci_method, level, reps = _ci(spec)
    reading = str(options.get("reading", "reference_scaled"))
    pending = options.get("not_yet_observed", "refuse")
    if pending not in ("refuse", "no_change"):
        raise SpecInvalid(f"options.not_yet_observed: {pending!r} is not refuse or no_change")
    index, reference_index = _trend_index(
        trend_index,
        where=index_where,
        period=str(options.get("trend_period", period)),
        time=str(options.get("trend_time", time)),
        value=str(options.get("trend_value", "slt")),
        contract_value=contract_value,
    )

    con = _connection(options, connection)
    months = _open(con, data)
    _require(months, where, {"unit": unit, "time": time, "outcome": outcome, "post": period})
    _require(months, where, {"subgroup": subgroup})
    if not months[outcome].type().is_numeric():
        raise DataInvalid(
            f"{where}: column {outcome!r} is not numeric",
            [Finding(code="not_numeric", message="not numeric", file=where, field_name=outcome)],
        )
    totals = _arrow(
        monthly_totals(
            months, time=time, outcome=outcome, period=period, contract_value=contract_value
        )
    )
    month_values = totals["time"].to_pylist()
    reference_rows = np.asarray(totals["reference_rows"].to_pylist(), dtype=np.float64)
    contract_rows = np.asarray(totals["contract_rows"].to_pylist(), dtype=np.float64)
    unobserved: list[Any] = []
    if pending == "no_change":
        # The data end within the contract period (a settlement "as of" a day before its
        # end): the months not reached yet count as no change — observed as expected —
        # and the estimate covers the months observed (decision 0207).
        observed = [m for m, c in zip(month_values, contract_rows, strict=True) if c]
        last = max(observed) if observed else None
        unobserved = [
            m
            for m, r, c in zip(month_values, reference_rows, contract_rows, strict=True)
            if r and not c and (last is None or m > last) and m in reference_index
        ]
        if unobserved:
            keep = [m not in set(unobserved) for m in month_values]
            pending_totals = totals.filter(pa.array([not k for k in keep]))
            totals = totals.filter(pa.array(keep))
            month_values = totals["time"].to_pylist()
            reference_rows = reference_rows[np.asarray(keep)]
            contract_rows = contract_rows[np.asarray(keep)]
        if not month_values:
            raise DataInvalid(
                f"{where}: no month of the contract period is observed yet",
                [
                    Finding(
                        code="no_contract_month",
                        message="no month of the contract period has data yet",
                        file=where,
                        field_name=time,
                    )
                ],
            )
    lacking = [m for m in month_values if m not in index]
    if lacking:
        raise DataInvalid(
            f"{index_where}: the trend index lacks months of the data",
            [
                Finding(
                    code="trend_month_missing",
                    message=f"no reference and contract value for month {m}",
                    file=index_where,
                )
                for m in lacking
            ],
        )
    one_sided = [
        m
        for m, r, c in zip(month_values, reference_rows, contract_rows, strict=True)
        if not (r and c)
    ]
    if one_sided:
        raise DataInvalid(
            f"{where}: months with rows in only one period",
            [
                Finding(
                    code="month_one_period",
                    message=f"month {m} has rows in only one of the reference and contract periods",
                    file=where,
                    field_name=time,
                )
                for m in one_sided
            ],
        )
    monthly = SickLeaveMonths.from_arrays(
        month=[float(m) for m in month_values],
        reference_days=totals["reference_days"].to_numpy(zero_copy_only=False),
        reference_headcount=reference_rows,
        contract_days=totals["contract_days"].to_numpy(zero_copy_only=False),
        contract_headcount=contract_rows,
        reference_index=[index[m][0] for m in month_values],
        contract_index=[index[m][1] for m in month_values],
    )
    scores = groups = None
    if interval or subgroup:
        reference_weight, contract_weight = score_weights(monthly, reading)
        weights = ibis.memtable(
            {
                "time": month_values,
                "reference_weight": reference_weight.tolist(),
                "contract_weight": contract_weight.tolist(),
            }
        )
        per_employee = _arrow(
            employee_scores(
                months,
                weights,
                unit=unit,
                time=time,
                outcome=outcome,
                period=period,
                contract_value=contract_value,
                subgroup=subgroup,
            )
        )
        units = per_employee[unit].to_numpy(zero_copy_only=False)
        order = _order(units)
        units = units[order]
        scores = per_employee["score"].to_numpy(zero_copy_only=False).astype(np.float64)[order]
        if subgroup:
            groups = per_employee[subgroup].to_numpy(zero_copy_only=False)[order]
            if len(np.unique(units)) != len(units):
                raise DataInvalid(
                    f"{where}: an employee has more than one value of the subgroup column",
                    [
                        Finding(
                            code="subgroup_not_constant",
                            message="the subgroup must be constant within an employee",
                            file=where,
                            field_name=subgroup,
                        )
                    ],
                )
    estimate = trend_adjusted(
        monthly,
        scores=scores,
        groups=groups,
        day_value=day_value,
        scale=str(options.get("scale", "total")),
        employees=employees,
        floor=floor,
        ci_method=ci_method if interval else None,
        level=level,
        reps=reps,
        seed=getattr(spec, "seed", None),
        outcome=outcome,
        reading=reading,
    )
    estimate.extras["backend"] = con.name
    estimate.extras["rows"] = int(reference_rows.sum() + contract_rows.sum())
    if unobserved:
        _append_no_change(estimate.extras["monthly"], pending_totals, reference_index)
        estimate.extras["months_not_yet_observed"] = [float(m) for m in unobserved]
    return estimate


def _append_no_change(
    monthly: dict[str, list[float]], pending: pa.Table, reference_index: dict[Any, float]
) -> None:
    """The months not observed yet, appended to the monthly table as no change: observed as
    expected (the reference month's days per employee) and the trend index as the reference
    month's, so a contract's monthly series are complete and these months save nothing."""
    for month, days, heads in zip(
        pending["time"].to_pylist(),
        pending["reference_days"].to_pylist(),
        pending["reference_rows"].to_pylist(),
        strict=True,
    ):
        per_employee = float(days) / float(heads)
        for key, value in (
            ("month", float(month)),
            ("slt", reference_index[month]),
            ("slt_reference", reference_index[month]),
            ("trend_weight", 1.0),
            ("reference_days_per_employee", per_employee),
            ("expected_days_per_employee", per_employee),
            ("observed_days_per_employee", per_employee),
            ("raw_observed_days_per_employee", per_employee),
            ("reference_headcount", float(heads)),
            ("contract_headcount", 0.0),
        ):
            monthly[key].append(value)
    order = sorted(range(len(monthly["month"])), key=lambda i: monthly["month"][i])
    for key, values in monthly.items():
        monthly[key] = [values[i] for i in order]


def run_historical_reference(
    spec: Any,
    *,
    data: Any,
    prices: pa.Table | None = None,
    where: str = "the data",
    connection: Any = None,
) -> Estimate:
    """The saving against the historical reference for ``spec`` (see the module docstring).

    ``data`` holds the costs per unit and month since inclusion (Arrow, or an opener
    of a lazy Ibis table), ``prices`` the price index when the spec names one.
    ``connection`` is an Ibis connection to use instead of ``options.backend``.
    """
    options = _options(spec, HISTORICAL_REFERENCE_OPTIONS, "historical_reference")
    if getattr(spec, "covariates", None):
        raise SpecInvalid("covariates: historical_reference takes no covariates")
    unit, time, outcome, treatment = spec.unit, spec.time, spec.outcome, spec.treatment
    for field, value in (
        ("unit", unit),
        ("time", time),
        ("outcome", outcome),
        ("treatment", treatment),
    ):
        if not value:
            raise SpecInvalid(f"{field}: historical_reference needs a {field} column")
    subgroup = getattr(spec, "subgroup", None)
    ci_method, level, reps = _ci(spec)
    con = _connection(options, connection)
    costs = _open(con, data)
    _require(
        costs,
        where,
        {"unit": unit, "time": time, "outcome": outcome, "treatment": treatment},
    )
    _require(costs, where, {"subgroup": subgroup})
    if not costs[outcome].type().is_numeric():
        raise DataInvalid(
            f"{where}: column {outcome!r} is not numeric",
            [Finding(code="not_numeric", message="not numeric", file=where, field_name=outcome)],
        )
    if not costs[time].type().is_integer():
        raise DataInvalid(
            f"{where}: column {time!r} must hold whole months since inclusion",
            [Finding(code="not_integer", message="not whole months", file=where, field_name=time)],
        )
    price_table = None
    calendar = None
    if options.get("price_index") is not None:
        if prices is None:
            raise SpecInvalid("options.price_index: the price index was not given")
        price_table = ibis.memtable(prices)
        price_month = str(options.get("price_month", "month"))
        price_value = str(options.get("price_value", "index"))
        _require(
            price_table,
            str(options["price_index"]),
            {"options.price_month": price_month, "options.price_value": price_value},
        )
        calendar = str(options.get("calendar", "month"))
        _require(costs, where, {"options.calendar": calendar})
    cells = _arrow(
        unit_month_costs(
            costs,
            unit=unit,
            time=time,
            outcome=outcome,
            treatment=treatment,
            subgroup=subgroup,
            calendar=calendar,
            prices=price_table,
            price_month=str(options.get("price_month", "month")),
            price_index=str(options.get("price_value", "index")),
        )
    )
    if cells.num_rows == 0:
        raise DataInvalid(
            f"{where}: no rows",
            [Finding(code="empty", message="the data has no rows", file=where)],
        )
    cost = cells["cost"].to_numpy(zero_copy_only=False).astype(np.float64)
    if np.isnan(cost).any():
        raise DataInvalid(
            f"{where}: missing values in {outcome!r}",
            [Finding(code="missing", message="missing cost", file=where, field_name=outcome)],
        )
    flag_values = cells["treatment"]
    if pa.types.is_string(flag_values.type) or pa.types.is_large_string(flag_values.type):
        treated_value = str(options.get("treated_value", "included"))
        included = np.asarray(flag_values.to_pylist(), dtype=object) == treated_value
    else:
        raw = flag_values.to_numpy(zero_copy_only=False)
        values = set(np.unique(raw[~np.isnan(raw.astype(np.float64))]).tolist())
        if not values <= {0, 1}:
            raise DataInvalid(
                f"{where}: column {treatment!r} must be 0 (reference) or 1 (included)",
                [
                    Finding(
                        code="not_binary",
                        message=f"values {sorted(values)[:5]}",
                        file=where,
                        field_name=treatment,
                    )
                ],
            )
        included = raw.astype(np.float64) == 1
    price = None
    if price_table is not None:
        price = cells["price"].to_numpy(zero_copy_only=False).astype(np.float64)
        if np.isnan(price).any():
            raise DataInvalid(
                f"{where}: months without a price index value",
                [
                    Finding(
                        code="price_month_missing",
                        message=f"{int(np.isnan(price).sum())} unit-months have no index value",
                        file=where,
                        field_name=calendar,
                    )
                ],
            )
    units = cells["unit"].to_numpy(zero_copy_only=False)
    months = cells["time"].to_numpy(zero_copy_only=False)
    group = cells["subgroup"].to_numpy(zero_copy_only=False) if subgroup else None
    panel = CostPanel.from_arrays(units, months, cost, price=price, group=group)
    reference = panel.subset(~included)
    observed = panel.subset(included)
    horizon = _integer(options, "horizon")
    start_month = _integer(options, "start_month")
    estimate = historical_reference(
        reference,
        observed,
        trend=str(options.get("trend", "empirical")),
        start_month=0 if start_month is None else start_month,
        horizon=horizon,
        ci_method=ci_method,
        level=level,
        reps=reps,
        seed=getattr(spec, "seed", None),
        subgroup_reference=str(options.get("subgroup_reference", "matched")),
        outcome=outcome,
    )
    estimate.extras["backend"] = con.name
    return estimate
