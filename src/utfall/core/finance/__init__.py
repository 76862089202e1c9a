"""Investor finance: drawdowns, cash flows, returns and the Monte Carlo of payouts.

Pure (no files, no clock); numpy for the vectorised parts. Modules::

    money        allocate(total, weights): exact splits in whole öre
    notes        Note: a report's note, English text with its code and params
    drawdowns    CostStructure, CostReport, draw_down(reports, commitment=, structure=)
    cashflows    CashFlow, build_cash_flows(...), net_flows(flows, party)
    returns      irr(flows) (XIRR via pyxirr), multiple(...), break_even(positions),
                 stays_non_negative_from(cumulative): the one rule behind break-even
    report       FinancePlan, finance_report(plan, payments) -> FinanceReport (payments None:
                 no settlement yet, only what the plan alone says)
    vectorised   settle_vectorised(contract, inputs, size=) -> VectorSettlement,
                 check_agreement(result, rows): exact to the öre against the Decimal engine
    montecarlo   parse_distribution, draw, scenario_column, irr_vector, summarise
"""

from __future__ import annotations

from utfall.core.finance.cashflows import CashFlow, DatedPayment, build_cash_flows, net_flows
from utfall.core.finance.drawdowns import CostReport, CostStructure, Drawdown, draw_down
from utfall.core.finance.money import allocate
from utfall.core.finance.notes import Note
from utfall.core.finance.report import FinancePlan, FinanceReport, finance_report
from utfall.core.finance.returns import (
    BreakEven,
    break_even,
    irr,
    monthly_positions,
    multiple,
    stays_non_negative_from,
)
from utfall.core.finance.vectorised import (
    Fixed,
    VectorisationError,
    VectorSettlement,
    check_agreement,
    settle_vectorised,
)

__all__ = [
    "BreakEven",
    "CashFlow",
    "CostReport",
    "CostStructure",
    "DatedPayment",
    "Drawdown",
    "FinancePlan",
    "FinanceReport",
    "Fixed",
    "Note",
    "VectorSettlement",
    "VectorisationError",
    "allocate",
    "break_even",
    "build_cash_flows",
    "check_agreement",
    "draw_down",
    "finance_report",
    "irr",
    "monthly_positions",
    "multiple",
    "net_flows",
    "settle_vectorised",
    "stays_non_negative_from",
]
