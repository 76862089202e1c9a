"""Employee-month sick leave → the aggregates of the trend-adjusted estimator (Ibis).

Two passes over the employee-month rows, both backend-neutral Ibis (DuckDB over
Parquet by default, Spark unchanged):

* :func:`monthly_totals` — per month index *i*: the reference-period days
  ``R_i`` and head count ``n_ref,i``, the contract-period days ``C_i`` and head
  count ``n_con,i``. This is all the point estimate needs (the contract's formula
  works on monthly days per employee) and gives the monthly series.
* :func:`employee_scores` — per employee *j*, the contribution
  ``z_j = Σ_i w_i · d_j,i / n_ref,i − Σ_i d_j,i / n_con,i`` (``w_i`` the trend
  ratio ``SLT_contract,i / SLT_reference,i``), so that ``Σ_j z_j = S_e − S_n``;
  in seed 004's reading the reference rows weigh ``1 / n_ref,i`` and the contract
  rows ``1 / (w_i · n_con,i)`` (the weights come from
  :func:`utfall.core.evaluation.trend_adjusted.score_weights`).
  Resampling employees with their whole record resamples these scores; this
  pass runs only when an interval or subgroups are asked for.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["contract_rows", "employee_scores", "monthly_totals"]


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


def monthly_totals(
    months: ir.Table,
    *,
    time: str,
    outcome: str,
    period: str,
    contract_value: str | None = "contract",
) -> ir.Table:
    """Per month index: ``reference_days``, ``reference_rows``, ``contract_days``, ``contract_rows``.

    The scan groups on the raw (month, period) pair, a handful of groups and no
    per-row expression; the split into the two periods happens on that small
    result.
    """
    cells = months.group_by(_time=months[time], _period=months[period]).aggregate(
        _days=months[outcome].cast("float64").sum(), _rows=months.count()
    )
    is_contract = contract_rows(cells, "_period", contract_value)
    return (
        cells.group_by(time=cells._time)
        .aggregate(
            reference_days=ibis.ifelse(is_contract, 0.0, cells._days).sum(),
            reference_rows=ibis.ifelse(is_contract, 0, cells._rows).sum(),
            contract_days=ibis.ifelse(is_contract, cells._days, 0.0).sum(),
            contract_rows=ibis.ifelse(is_contract, cells._rows, 0).sum(),
        )
        .order_by("time")
    )


def employee_scores(
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
    """Per employee (and subgroup): ``score = Σ days · weight`` with a signed row weight.

    ``weights`` has one row per month index with columns ``time``,
    ``reference_weight`` (``w_i / n_ref,i``) and ``contract_weight``
    (``1 / n_con,i``); reference rows count ``+reference_weight``, contract rows
    ``−contract_weight``.
    """
    w = weights.select(
        _w_time=weights.time,
        _w_ref=weights.reference_weight.cast("float64"),
        _w_con=weights.contract_weight.cast("float64"),
    )
    joined = months.join(w, months[time] == w._w_time)
    is_contract = contract_rows(joined, period, contract_value)
    signed = ibis.ifelse(is_contract, -joined._w_con, joined._w_ref)
    keys = [joined[unit]] + ([joined[subgroup]] if subgroup else [])
    return joined.group_by(keys).aggregate(score=(joined[outcome].cast("float64") * signed).sum())
