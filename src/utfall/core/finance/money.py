"""Money helpers of the finance core: whole öre, and splitting an amount exactly.

Money is ``Decimal`` with two decimals. Splitting an amount in proportion to
weights (a cost structure, a savings profile) uses the largest-remainder
method on whole öre, so the parts always add up to the whole, to the öre.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, localcontext

__all__ = ["ORE", "allocate", "from_ore", "to_ore"]

ORE = Decimal("0.01")


def to_ore(amount: Decimal) -> int:
    """Whole öre of an amount that has at most two decimals (``ValueError`` otherwise)."""
    ore = amount * 100
    if ore != ore.to_integral_value():
        raise ValueError(f"{amount} has fractions of an öre")
    return int(ore)


def from_ore(ore: int) -> Decimal:
    """An amount of whole öre as money with two decimals."""
    return (Decimal(ore) / 100).quantize(ORE)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights``, in whole öre, summing exactly to ``total``.

    Each part gets the floor of its exact share; the öre left over go one by
    one to the parts with the largest remainders (ties to the earlier part).
    Weights may be negative (a month when costs rose) but must not sum to 0.

    >>> allocate(Decimal("100.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')]
    """
    if not weights:
        raise ValueError("nothing to split the amount between")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise ValueError("the weights sum to 0; they give no proportions")
    whole = to_ore(total)
    with localcontext() as context:
        context.prec = 60
        exact = [Decimal(whole) * w / weight_sum for w in weights]
        floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
        remainders = [e - f for e, f in zip(exact, floors, strict=True)]
    left = whole - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:left]:
        floors[index] += 1
    return [from_ore(f) for f in floors]
