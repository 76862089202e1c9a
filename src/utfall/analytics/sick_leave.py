"""Employee-month sick leave → per-employee expected and observed days (Ibis).

The heavy step of the trend-adjusted estimator
(:mod:`utfall.core.evaluation.trend_adjusted`): one pass over the
employee-month rows, joined to the 36 monthly trend weights
``w_i = SLT_contract,i / SLT_reference,i``::

    expected_j = Σ_i w_i · days_j,i   over the reference months
    observed_j = Σ_i days_j,i         over the contract months

The expressions are backend-neutral Ibis; they run on DuckDB over Parquet by
default and on Spark unchanged (see :mod:`utfall.analytics.backends`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["contract_rows", "employee_totals", "monthly_series", "trend_weights"]


def contract_rows(table: ir.Table, period: str, contract_value: str | None) -> ir.BooleanValue:
    """True on contract-period rows.

    A string column matches ``contract_value``; a boolean column is used as is;
    a numeric column marks the contract with any non-zero value.
    """
    column = table[period]
    kind = column.type()
    if kind.is_string():
        return column == (contract_value or "contract")
    if kind.is_boolean():
        return column
    return column != 0


def trend_weights(
    slt: ir.Table,
    *,
    period: str,
    time: str,
    index: str,
    contract_value: str | None = "contract",
) -> ir.Table:
    """Per matching month: ``weight = SLT_contract / SLT_reference`` (columns ``time``, ``weight``).

    ``slt`` has one row per period and month; months are matched on ``time``.
    """
    is_contract = contract_rows(slt, period, contract_value)
    reference = slt.filter(~is_contract).select(_t=slt[time], _ref=slt[index].cast("float64"))
    contract = slt.filter(is_contract).select(_t2=slt[time], _con=slt[index].cast("float64"))
    joined = reference.join(contract, reference._t == contract._t2)
    return joined.select(time=joined._t, weight=joined._con / joined._ref)


def _weighted(
    months: ir.Table,
    weights: ir.Table,
    *,
    time: str,
    outcome: str,
    period: str,
    contract_value: str | None,
) -> tuple[ir.Table, ir.FloatingValue, ir.FloatingValue, ir.BooleanValue]:
    is_contract = contract_rows(months, period, contract_value)
    w = weights.select(_w_time=weights.time, _w=weights.weight)
    joined = months.left_join(w, months[time] == w._w_time)
    days = joined[outcome].cast("float64")
    is_contract = contract_rows(joined, period, contract_value)
    expected = ibis.ifelse(is_contract, 0.0, days * joined._w)
    observed = ibis.ifelse(is_contract, days, 0.0)
    return joined, expected, observed, is_contract


def employee_totals(
    months: ir.Table,
    weights: ir.Table,
    *,
    unit: str,
    time: str,
    outcome: str,
    period: str,
    contract_value: str | None = "contract",
    subgroup: str | None = None,
) -> ir.Table:
    """One row per employee: ``expected``, ``observed`` and the months seen in each period.

    Columns: ``unit``, (``subgroup``), ``expected``, ``observed``,
    ``reference_months``, ``contract_months``. A reference month without a
    weight gives a null ``expected`` (the caller checks the weights first).
    """
    joined, expected, observed, is_contract = _weighted(
        months, weights, time=time, outcome=outcome, period=period, contract_value=contract_value
    )
    keys = [joined[unit]] + ([joined[subgroup]] if subgroup else [])
    return joined.group_by(keys).aggregate(
        expected=expected.sum(),
        observed=observed.sum(),
        reference_months=ibis.ifelse(is_contract, 0, 1).sum(),
        contract_months=ibis.ifelse(is_contract, 1, 0).sum(),
    )


def monthly_series(
    months: ir.Table,
    weights: ir.Table,
    *,
    time: str,
    outcome: str,
    period: str,
    contract_value: str | None = "contract",
) -> ir.Table:
    """Per month index: expected days (re-weighted reference) and observed contract days.

    Columns: ``time``, ``expected``, ``observed``, ``reference_rows``,
    ``contract_rows``, ``weight`` (null where the trend index lacks the month).
    """
    joined, expected, observed, is_contract = _weighted(
        months, weights, time=time, outcome=outcome, period=period, contract_value=contract_value
    )
    return (
        joined.group_by(time=joined[time])
        .aggregate(
            expected=expected.sum(),
            observed=observed.sum(),
            reference_rows=ibis.ifelse(is_contract, 0, 1).sum(),
            contract_rows=ibis.ifelse(is_contract, 1, 0).sum(),
            weight=joined._w.max(),
        )
        .order_by("time")
    )
