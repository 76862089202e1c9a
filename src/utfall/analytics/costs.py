"""Cost rows → one cost per individual and month since inclusion (Ibis).

Feeds :mod:`utfall.core.evaluation.historical_reference`. Source data may hold
several rows per individual and month (one per cost type or invoice); they are
summed. With a price index the calendar month of each cell is joined to its
index value, which the estimator uses to re-price the reference trajectory.
"""

from __future__ import annotations

import ibis.expr.types as ir

__all__ = ["unit_month_costs"]


def _month_of(column: ir.Value) -> ir.Value:
    """Dates and timestamps as the first day of their month, so any day matches the index."""
    kind = column.type()
    if kind.is_date() or kind.is_timestamp():
        return column.truncate("M").cast("date")
    return column


def unit_month_costs(
    costs: ir.Table,
    *,
    unit: str,
    time: str,
    outcome: str,
    treatment: str,
    subgroup: str | None = None,
    calendar: str | None = None,
    prices: ir.Table | None = None,
    price_month: str = "month",
    price_index: str = "index",
) -> ir.Table:
    """Cost per (unit, month since inclusion), with the treatment flag and optional price.

    Columns: ``unit``, ``time``, ``treatment``, (``subgroup``), ``cost``, and
    ``price`` when ``prices`` is given (joined on ``calendar`` =
    ``prices[price_month]``; a cell whose month has no index gets a null price,
    which the caller reports).
    """
    keys = [costs[unit].name("unit"), costs[time].name("time"), costs[treatment].name("treatment")]
    if subgroup:
        keys.append(costs[subgroup].name("subgroup"))
    if calendar and prices is not None:
        keys.append(_month_of(costs[calendar]).name("calendar"))
    cells = costs.group_by(keys).aggregate(cost=costs[outcome].cast("float64").sum())
    if calendar is None or prices is None:
        return cells
    index = prices.select(
        _p_month=_month_of(prices[price_month]), price=prices[price_index].cast("float64")
    )
    joined = cells.left_join(index, cells.calendar == index._p_month)
    return joined.drop("_p_month", "calendar")
