"""Cost structure (the seed's 101 %), exact splitting, drawdowns, cash flows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.core.finance.cashflows import DatedPayment, build_cash_flows, net_flows, party_totals
from utfall.core.finance.drawdowns import CostReport, CostStructure, draw_down
from utfall.core.finance.money import allocate
from utfall.core.finance.report import FinancePlan, finance_report

SEED_SHARES = {
    "evaluation": Decimal("0.02"),
    "intermediary": Decimal("0.14"),
    "tutoring": Decimal("0.24"),
    "overhead": Decimal("0.12"),
    "salaries": Decimal("0.49"),
}


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: Decimal(n).scaleb(-2)),
    weights=st.lists(
        st.integers(min_value=-1000, max_value=1000).map(Decimal), min_size=1, max_size=12
    ).filter(lambda w: sum(w) != 0),
)
def test_allocate_adds_up_to_the_ore_and_stays_within_an_ore_of_the_exact_share(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part == part.quantize(Decimal("0.01"))
        assert abs(part - total * weight / weight_sum) < Decimal("0.01")


def test_the_seed_cost_structure_sums_to_101_percent_and_is_split_in_proportion():
    structure = CostStructure(SEED_SHARES)
    assert structure.total == Decimal("1.01")
    assert "101.00 %" in structure.note
    split = structure.split(Decimal("10000000.00"))
    assert sum(split.values()) == Decimal("10000000.00")
    assert split["salaries"] == Decimal("4851485.15")  # 49/101 of 10 MSEK
    assert split["evaluation"] == Decimal("198019.80")
    assert structure.effective_shares()["salaries"] == Decimal("0.485149")


def test_a_cost_structure_far_from_100_percent_is_refused():
    with pytest.raises(ValueError, match="further from 100 % than rounding can"):
        CostStructure({"a": Decimal("0.5"), "b": Decimal("0.6")})
    assert CostStructure({"a": Decimal("0.5"), "b": Decimal("0.6")}, tolerance=Decimal("0.1"))
    with pytest.raises(ValueError, match="negative share"):
        CostStructure({"a": Decimal("-0.1"), "b": Decimal("1.1")})
    with pytest.raises(ValueError, match="payees for unknown categories"):
        CostStructure({"a": Decimal(1)}, {"b": "x"})


def reports(*amounts: str) -> list[CostReport]:
    return [CostReport(date(2016, 3 * (i + 1), 1), Decimal(a)) for i, a in enumerate(amounts)]


def test_drawdowns_stop_at_the_commitment():
    structure = CostStructure(SEED_SHARES)
    drawn = draw_down(
        reports("4000000", "4000000", "4000000", "1000000"),
        commitment=Decimal("10000000"),
        structure=structure,
    )
    assert [d.drawn for d in drawn] == [4000000, 4000000, 2000000, 0]
    assert [d.own for d in drawn] == [0, 0, 2000000, 1000000]
    assert drawn[-1].cumulative_drawn == Decimal("10000000") and drawn[-1].remaining == 0
    crossing = drawn[2]
    assert sum(crossing.drawn_by_category.values()) == crossing.drawn
    assert sum(crossing.reported_by_category.values()) == crossing.reported


def test_reports_with_their_own_categories_must_add_up():
    with pytest.raises(ValueError, match="categories add up to 90"):
        CostReport(date(2016, 1, 1), Decimal(100), {"a": Decimal(50), "b": Decimal(40)})
    with pytest.raises(ValueError, match="fractions of an öre"):
        CostReport(date(2016, 1, 1), Decimal("1.001"))


def test_cash_flows_and_a_finance_report():
    structure = CostStructure(
        {"tutoring": Decimal("0.5"), "salaries": Decimal("0.5")}, {"tutoring": "tutor"}
    )
    plan = FinancePlan(
        financier="fund",
        commissioner="town",
        commitment=Decimal(1000),
        structure=structure,
        cost_reports=tuple(reports("600", "600")),
        settlement_date=date(2018, 1, 1),
        savings=((date(2016, 4, 1), Decimal(-100)), (date(2017, 1, 1), Decimal(1500))),
        start=date(2016, 3, 1),
    )
    payments = [DatedPayment("repay", "town", "fund", "Repayment", Decimal(1100), date(2018, 1, 1))]
    report = finance_report(plan, payments)
    assert report.invested == Decimal(1000) and report.received == Decimal(1100)
    assert report.multiple == Decimal("1.1")
    assert any("carries 200" in note for note in report.notes)
    assert net_flows(report.flows, "fund") == [
        (date(2016, 3, 1), Decimal(-600)),
        (date(2016, 6, 1), Decimal(-400)),
        (date(2018, 1, 1), Decimal(1100)),
    ]
    totals = party_totals(report.flows)
    assert totals["tutor"] == (Decimal(600), Decimal(0))
    # The town: costs 1200 out, 1000 drawn in, savings -100 then +1500, 1100 to the fund:
    # cumulative 0, -100, -300, then +1200 in January 2017 (month 11), +100 after paying.
    assert sum(v for _, v in net_flows(report.flows, "town")) == Decimal(100)
    moved = [p.cumulative for p in report.commissioner_positions if p.net]
    assert moved == [-100, -300, 1200, 100]
    assert report.break_even is not None
    assert (report.break_even.month, report.break_even.start) == (11, date(2017, 1, 1))
    flows = build_cash_flows(
        drawdowns=report.drawdowns, structure=structure, financier="fund", commissioner="town"
    )
    assert {f.kind for f in flows} == {"drawdown", "cost"}
