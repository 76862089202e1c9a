"""Returns: the financier's IRR and multiple, the commissioner's break-even month.

Break-even (decision 0258) is the one figure called so anywhere in utfall: the
month from which the commissioner's cumulative position under a finance plan
stays at or above zero. The rule beneath it — the first place from which a
cumulative series stays at or above zero — is :func:`stays_non_negative_from`,
the one implementation every caller outside the estimators uses (the council's
month in which a saving turns positive for good applies it to the saving by
month since inclusion).

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
from typing import TypeVar, overload

import pyxirr

__all__ = [
    "BreakEven",
    "MonthlyPosition",
    "break_even",
    "irr",
    "monthly_positions",
    "multiple",
    "stays_non_negative_from",
]

Label = TypeVar("Label")


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


@overload
def stays_non_negative_from(cumulative: Sequence[Decimal | float | int]) -> int | None: ...


@overload
def stays_non_negative_from(
    cumulative: Sequence[Decimal | float | int], labels: Sequence[Label]
) -> Label | None: ...


def stays_non_negative_from(
    cumulative: Sequence[Decimal | float | int], labels: Sequence[Label] | None = None
) -> int | Label | None:
    """Where a cumulative series reaches zero or more and stays there to its end.

    The index of the first value after the last negative one (0 when none is
    negative), or the label at that index when ``labels`` (month numbers,
    dates …) are given. None when the last value is negative, when the series is
    empty, or when a value is not a number (NaN: nothing can be said).
    """
    if labels is not None and len(labels) != len(cumulative):
        raise ValueError(f"{len(labels)} labels for {len(cumulative)} values")
    index: int | None = None
    for position, value in enumerate(cumulative):
        if value != value:  # NaN
            return None
        if value < 0:
            index = None
        elif index is None:
            index = position
    if index is None:
        return None
    return index if labels is None else labels[index]


def break_even(positions: Sequence[MonthlyPosition]) -> BreakEven | None:
    """The first month after which the cumulative position never falls below zero again.

    None if it ends below zero. A position that never dips below zero breaks
    even in month 1.
    """
    index = stays_non_negative_from([p.cumulative for p in positions])
    if index is None:
        return None
    found = positions[index]
    return BreakEven(found.month, found.start, found.cumulative)
