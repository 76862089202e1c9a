"""Cash flows between the parties of a contract, dated.

Every movement of money is one :class:`CashFlow` from a payer to a payee
(``None`` stands for anyone outside the contract: the commissioner's staff, a
supplier, or the costs a saving avoids). Drawdowns go from the financier to
the commissioner; the commissioner pays the intervention's costs by category;
savings come in to the commissioner month by month; the contract's payments
go where the settlement says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from utfall.core.finance.drawdowns import CostStructure, Drawdown

__all__ = ["CashFlow", "DatedPayment", "build_cash_flows", "net_flows", "party_totals"]


@dataclass(frozen=True)
class DatedPayment:
    """A payment of the settlement with the date it is made."""

    id: str
    payer: str
    payee: str
    label: str
    amount: Decimal
    date: date


@dataclass(frozen=True)
class CashFlow:
    """Money moving from ``payer`` to ``payee`` on ``date`` (``amount`` ≥ 0)."""

    date: date
    payer: str | None
    payee: str | None
    amount: Decimal
    kind: str
    label: str

    def signed_for(self, party: str) -> Decimal:
        """The flow as ``party`` sees it: positive in, negative out, 0 if not involved."""
        if self.payee == party and self.payer != party:
            return self.amount
        if self.payer == party and self.payee != party:
            return -self.amount
        return Decimal(0)


def build_cash_flows(
    *,
    drawdowns: Sequence[Drawdown],
    structure: CostStructure,
    financier: str,
    commissioner: str,
    payments: Sequence[DatedPayment] = (),
    savings: Sequence[tuple[date, Decimal]] = (),
) -> tuple[CashFlow, ...]:
    """Every cash flow of the plan and the settlement, in date order."""
    flows: list[CashFlow] = []
    for drawdown in drawdowns:
        if drawdown.drawn > 0:
            flows.append(
                CashFlow(
                    drawdown.date,
                    financier,
                    commissioner,
                    drawdown.drawn,
                    "drawdown",
                    f"drawdown against the cost report {drawdown.label or drawdown.date}",
                )
            )
        for category, amount in drawdown.reported_by_category.items():
            if amount > 0:
                flows.append(
                    CashFlow(
                        drawdown.date,
                        commissioner,
                        structure.payees.get(category),
                        amount,
                        "cost",
                        f"costs: {category}",
                    )
                )
    for when, amount in savings:
        if amount > 0:
            flows.append(CashFlow(when, None, commissioner, amount, "saving", "costs avoided"))
        elif amount < 0:
            flows.append(CashFlow(when, commissioner, None, -amount, "saving", "costs added"))
    for payment in payments:
        if payment.amount > 0:
            flows.append(
                CashFlow(
                    payment.date,
                    payment.payer,
                    payment.payee,
                    payment.amount,
                    "payment",
                    payment.label,
                )
            )
    return tuple(sorted(flows, key=lambda f: f.date))


def net_flows(flows: Iterable[CashFlow], party: str) -> list[tuple[date, Decimal]]:
    """The party's net cash flow per date (in − out), dates with no net flow left out."""
    by_date: dict[date, Decimal] = defaultdict(Decimal)
    for flow in flows:
        signed = flow.signed_for(party)
        if signed:
            by_date[flow.date] += signed
    return [(d, v) for d, v in sorted(by_date.items()) if v != 0]


def party_totals(flows: Iterable[CashFlow]) -> Mapping[str, tuple[Decimal, Decimal]]:
    """Per party: (total received, total paid out)."""
    received: dict[str, Decimal] = defaultdict(Decimal)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for flow in flows:
        if flow.payee is not None and flow.payee != flow.payer:
            received[flow.payee] += flow.amount
        if flow.payer is not None and flow.payer != flow.payee:
            paid[flow.payer] += flow.amount
    parties = sorted(set(received) | set(paid))
    return {p: (received[p], paid[p]) for p in parties}
