"""The financier's commitment drawn against the commissioner's cost reports.

In Norrköping the financier committed up to 10 MSEK, "drawn after the
municipality's running cost reports" (seed 000 p. 10). Each report is drawn in
full until the commitment runs out; the report that crosses it is drawn in
part; costs after that are the commissioner's own.

A cost structure says how costs divide between categories. Seed 000 p. 10
states evaluation 2 %, intermediary 14 %, tutoring 24 %, overhead 12 % and
salaries 49 % - which sum to 101 %: whole-percent figures read off a chart, each
rounded. :class:`CostStructure` keeps the shares as stated and splits an amount
in proportion to them (each share divided by their sum), and says so in
:attr:`CostStructure.note`; a sum further from 100 % than rounding to whole
percents can explain is refused (decision 0254).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from utfall.core.finance.money import ORE, allocate
from utfall.core.finance.notes import Note

__all__ = ["CostReport", "CostStructure", "Drawdown", "draw_down"]

ONE = Decimal(1)


@dataclass(frozen=True)
class CostStructure:
    """Cost categories with their stated shares, and who is paid for each.

    ``payees`` maps a category to the party paid for it (e.g. tutoring → the
    tutoring provider); a category without a payee is spent outside the
    contract's parties (the commissioner's own staff and overhead).
    ``tolerance`` is how far the shares may sum from 1: by default half a
    percentage point per category, what rounding each share to a whole percent
    can do.
    """

    shares: Mapping[str, Decimal]
    payees: Mapping[str, str | None] = field(default_factory=dict)
    tolerance: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.shares:
            raise ValueError("a cost structure needs at least one category")
        for name, share in self.shares.items():
            if share < 0:
                raise ValueError(f"category {name!r} has a negative share {share}")
        unknown = sorted(set(self.payees) - set(self.shares))
        if unknown:
            raise ValueError(f"payees for unknown categories: {', '.join(unknown)}")
        slack = self.allowed_slack
        if abs(self.total - ONE) > slack:
            raise ValueError(
                f"the shares sum to {self.total * 100:f} %, further from 100 % than rounding can "
                f"explain (±{slack * 100:f} percentage points)"
            )

    @property
    def total(self) -> Decimal:
        """The sum of the stated shares (1.01 for the Norrköping seed)."""
        return sum(self.shares.values(), Decimal(0))

    @property
    def allowed_slack(self) -> Decimal:
        """How far the shares may sum from 1."""
        if self.tolerance is not None:
            return self.tolerance
        return Decimal("0.005") * len(self.shares)

    @property
    def note(self) -> str | None:
        """What was done about shares that do not sum to 100 %, if anything."""
        if self.total == ONE:
            return None
        return Note(
            f"the stated cost shares sum to {self.total * 100:f} %, not 100 % (rounded figures); "
            f"amounts are split in proportion to them, each share divided by {self.total:f}",
            "finance-shares-sum",
            {"total": f"{self.total:f}"},
        )

    def effective_shares(self) -> dict[str, Decimal]:
        """The shares actually applied (the stated ones divided by their sum), to 6 decimals."""
        return {n: (s / self.total).quantize(Decimal("0.000001")) for n, s in self.shares.items()}

    def split(self, amount: Decimal) -> dict[str, Decimal]:
        """``amount`` split over the categories, in whole öre, adding up exactly."""
        names = list(self.shares)
        if amount == 0:
            return {n: Decimal("0.00") for n in names}
        parts = allocate(amount, [self.shares[n] for n in names])
        return dict(zip(names, parts, strict=True))


@dataclass(frozen=True)
class CostReport:
    """The commissioner's report of the intervention's costs for a period.

    ``by_category`` (optional) gives the costs per category and must add up to
    ``amount``; without it the cost structure splits the amount.
    """

    date: date
    amount: Decimal
    by_category: Mapping[str, Decimal] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"cost report of {self.date}: a negative amount {self.amount}")
        if self.amount != self.amount.quantize(ORE):
            raise ValueError(f"cost report of {self.date}: {self.amount} has fractions of an öre")
        if self.by_category is not None:
            total = sum(self.by_category.values(), Decimal(0))
            if total != self.amount:
                raise ValueError(
                    f"cost report of {self.date}: the categories add up to {total}, "
                    f"the report says {self.amount}"
                )

    def categories(self, structure: CostStructure) -> dict[str, Decimal]:
        """The report's costs per category (given, or split by the structure)."""
        if self.by_category is not None:
            return dict(self.by_category)
        return structure.split(self.amount)


@dataclass(frozen=True)
class Drawdown:
    """One cost report and what the financier funded of it."""

    date: date
    reported: Decimal
    drawn: Decimal
    own: Decimal
    cumulative_drawn: Decimal
    remaining: Decimal
    reported_by_category: Mapping[str, Decimal]
    drawn_by_category: Mapping[str, Decimal]
    label: str = ""


def draw_down(
    reports: Sequence[CostReport], *, commitment: Decimal, structure: CostStructure
) -> tuple[Drawdown, ...]:
    """Draw the commitment against the cost reports, in date order.

    A report is drawn in full while the commitment lasts; the one that
    crosses it is drawn in part (split over its categories in proportion);
    the rest of the costs are the commissioner's own.
    """
    if commitment < 0:
        raise ValueError(f"a commitment cannot be negative ({commitment})")
    remaining = commitment
    cumulative = Decimal("0.00")
    out: list[Drawdown] = []
    for report in sorted(reports, key=lambda r: r.date):
        categories = report.categories(structure)
        drawn = min(report.amount, remaining)
        if drawn == report.amount:
            drawn_categories = dict(categories)
        elif drawn == 0:
            drawn_categories = {n: Decimal("0.00") for n in categories}
        else:
            names = [n for n in categories if categories[n] > 0]
            parts = allocate(drawn, [categories[n] for n in names])
            drawn_categories = {n: Decimal("0.00") for n in categories}
            drawn_categories.update(zip(names, parts, strict=True))
        remaining -= drawn
        cumulative += drawn
        out.append(
            Drawdown(
                date=report.date,
                reported=report.amount,
                drawn=drawn,
                own=report.amount - drawn,
                cumulative_drawn=cumulative,
                remaining=remaining,
                reported_by_category=categories,
                drawn_by_category=drawn_categories,
                label=report.label,
            )
        )
    return tuple(out)
