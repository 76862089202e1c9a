"""A finance plan and the report of one settlement under it.

The plan says how the financier's money goes in (commitment, cost reports,
cost structure), when the contract's payments are made, and how the
commissioner's savings come month by month. :func:`finance_report` combines
it with the payments of a settlement into drawdowns, the cash flows of every
party, the financier's IRR and multiple, and the commissioner's break-even
month.

Before there is a settlement the plan alone still says how the commitment is
drawn and where the costs go: ``finance_report(plan, None)`` reports the
drawdowns and those flows, and leaves the returns and the break-even month
(which depend on what the contract pays) empty, with ``settled`` false.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from utfall.core.finance.cashflows import (
    CashFlow,
    DatedPayment,
    build_cash_flows,
    net_flows,
    party_totals,
)
from utfall.core.finance.drawdowns import CostReport, CostStructure, Drawdown, draw_down
from utfall.core.finance.notes import Note
from utfall.core.finance.returns import (
    BreakEven,
    MonthlyPosition,
    break_even,
    irr,
    monthly_positions,
    multiple,
)

__all__ = ["FinancePlan", "FinanceReport", "PaymentLike", "finance_report"]


class PaymentLike(Protocol):
    """What the report needs of a settlement's payment line."""

    @property
    def id(self) -> str: ...
    @property
    def payer(self) -> str: ...
    @property
    def payee(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True)
class FinancePlan:
    """How money moves over time around one contract."""

    financier: str
    commissioner: str
    commitment: Decimal
    structure: CostStructure
    cost_reports: tuple[CostReport, ...]
    settlement_date: date
    payment_dates: Mapping[str, date] = field(default_factory=dict)
    savings: tuple[tuple[date, Decimal], ...] = ()
    start: date | None = None

    @property
    def first_month(self) -> date:
        """Month 1 of the break-even count: ``start``, or the first cost report."""
        if self.start is not None:
            return self.start
        if self.cost_reports:
            return min(r.date for r in self.cost_reports)
        return self.settlement_date

    def payment_date(self, payment_id: str) -> date:
        """When a payment is made (its own date, or the settlement date)."""
        return self.payment_dates.get(payment_id, self.settlement_date)


@dataclass(frozen=True)
class FinanceReport:
    """Drawdowns, cash flows and returns of one settlement under a plan."""

    drawdowns: tuple[Drawdown, ...]
    flows: tuple[CashFlow, ...]
    invested: Decimal
    received: Decimal
    multiple: Decimal | None
    irr: float | None
    financier_flows: tuple[tuple[date, Decimal], ...]
    commissioner_positions: tuple[MonthlyPosition, ...]
    break_even: BreakEven | None
    totals: Mapping[str, tuple[Decimal, Decimal]]
    notes: tuple[str, ...]
    """What the figures alone do not say, each a :class:`Note` (English text, code, params)."""
    settled: bool = True
    """False when no settlement was given: no payments, so no returns and no break-even."""


def finance_report(plan: FinancePlan, payments: Sequence[PaymentLike] | None) -> FinanceReport:
    """The report of a settlement's ``payments`` under ``plan``.

    ``payments`` None: there is no settlement yet. The drawdowns, the costs and the
    plan's savings are reported; ``received`` is zero and the multiple, the IRR and
    the break-even month are None, because they depend on what the contract pays.
    """
    settled = payments is not None
    drawdowns = draw_down(plan.cost_reports, commitment=plan.commitment, structure=plan.structure)
    dated = [
        DatedPayment(p.id, p.payer, p.payee, p.label, p.amount, plan.payment_date(p.id))
        for p in payments or ()
    ]
    flows = build_cash_flows(
        drawdowns=drawdowns,
        structure=plan.structure,
        financier=plan.financier,
        commissioner=plan.commissioner,
        payments=dated,
        savings=plan.savings,
    )
    invested = sum((d.drawn for d in drawdowns), Decimal("0.00"))
    received = sum(
        (p.amount for p in dated if p.payee == plan.financier and p.payer != plan.financier),
        Decimal("0.00"),
    )
    financier = net_flows(flows, plan.financier)
    positions = monthly_positions(
        net_flows(flows, plan.commissioner), start=plan.first_month, end=plan.settlement_date
    )
    notes: list[str] = []
    # The structure's shares matter only where they split a report without categories.
    if plan.structure.note and any(r.by_category is None for r in plan.cost_reports):
        notes.append(plan.structure.note)
    own = sum((d.own for d in drawdowns), Decimal(0))
    if own:
        notes.append(
            Note(
                f"the cost reports exceed the commitment of {plan.commitment:f}: the "
                f"commissioner carries {own:f} itself",
                "finance-over-commitment",
                {"commitment": f"{plan.commitment:f}", "own": f"{own:f}"},
            )
        )
    late = [p.id for p in dated if drawdowns and p.date < drawdowns[-1].date]
    if late:
        notes.append(
            Note(
                f"payment(s) {', '.join(late)} fall before the last drawdown",
                "finance-payments-early",
                {"payments": ", ".join(late)},
            )
        )
    return FinanceReport(
        drawdowns=drawdowns,
        flows=flows,
        invested=invested,
        received=received,
        multiple=multiple(invested, received) if settled else None,
        irr=irr(financier) if settled else None,
        financier_flows=tuple(financier),
        commissioner_positions=tuple(positions),
        break_even=break_even(positions) if settled else None,
        totals=party_totals(flows),
        notes=tuple(notes),
        settled=settled,
    )
