"""Returns: the financier's IRR and multiple, the commissioner's break-even month.

The IRR is the rate ``r`` at which the dated flows' net present value is zero,
discounting by ``(1 + r) ** (days / 365)`` from the first flow: the XIRR
convention of spreadsheets, computed by ``pyxirr``. Money stays ``Decimal``
up to this boundary; the rate is a float (it is a statistic, not an amount).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

import pyxirr

__all__ = ["BreakEven", "MonthlyPosition", "break_even", "irr", "monthly_positions", "multiple"]


def irr(flows: Sequence[tuple[date, Decimal]]) -> float | None:
    """Annual internal rate of return of dated flows (XIRR, actual/365), or None.

    None when the flows have no sign change (no rate makes them balance).
    Flows that return nothing at all have an IRR of -100 %.
    """
    amounts = [float(amount) for _, amount in flows]
    money_in = any(a > 0 for a in amounts)
    money_out = any(a < 0 for a in amounts)
    if money_out and not money_in:
        return -1.0
    if not (money_in and money_out):
        return None
    try:
        rate = pyxirr.xirr([d for d, _ in flows], amounts)
    except pyxirr.InvalidPaymentsError:
        return None
    if rate is None or not math.isfinite(rate):
        return None
    return float(rate)


def multiple(paid_in: Decimal, received: Decimal) -> Decimal | None:
    """What comes back per krona put in (``received / paid_in``), exactly; None if nothing went in."""
    if paid_in == 0:
        return None
    with localcontext() as context:
        context.prec = 28
        return received / paid_in


@dataclass(frozen=True)
class MonthlyPosition:
    """A party's net flow in one calendar month and its running total."""

    month: int
    start: date
    net: Decimal
    cumulative: Decimal


def _month_number(start: date, when: date) -> int:
    return (when.year - start.year) * 12 + (when.month - start.month) + 1


def monthly_positions(
    flows: Sequence[tuple[date, Decimal]], *, start: date, end: date | None = None
) -> list[MonthlyPosition]:
    """Net flow per calendar month from the month of ``start`` (month 1) to ``end``.

    Flows before ``start`` count in month 1; ``end`` defaults to the last flow.
    """
    last = max([d for d, _ in flows] + ([end] if end else []), default=start)
    months = max(_month_number(start, last), 1)
    nets = [Decimal(0)] * months
    for when, amount in flows:
        index = min(max(_month_number(start, when), 1), months) - 1
        nets[index] += amount
    positions: list[MonthlyPosition] = []
    running = Decimal(0)
    for number, net in enumerate(nets, start=1):
        running += net
        year = start.year + (start.month - 1 + number - 1) // 12
        month = (start.month - 1 + number - 1) % 12 + 1
        positions.append(MonthlyPosition(number, date(year, month, 1), net, running))
    return positions


@dataclass(frozen=True)
class BreakEven:
    """The month from which a party's cumulative position stays at or above zero."""

    month: int
    start: date
    cumulative: Decimal


def break_even(positions: Sequence[MonthlyPosition]) -> BreakEven | None:
    """The first month after which the cumulative position never falls below zero again.

    None if it ends below zero. A position that never dips below zero breaks
    even in month 1.
    """
    found: MonthlyPosition | None = None
    for position in positions:
        if position.cumulative < 0:
            found = None
        elif found is None:
            found = position
    if found is None:
        return None
    return BreakEven(found.month, found.start, found.cumulative)
