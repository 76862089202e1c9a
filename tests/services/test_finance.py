"""Finance plans, a settlement's cash flows and returns, and the Monte Carlo service."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import pyxirr
from scipy.stats import norm

from utfall.errors import DataInvalid, FindingsError, UserError
from utfall.services.contracts import contract_load
from utfall.services.finance import (
    finance_cashflows,
    finance_plan_load,
    finance_simulate,
    scenarios_read,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
PLAN = ROOT / "examples/finance/norrkoping-plan.yaml"


def test_the_norrkoping_plan_reads():
    plan = finance_plan_load(PLAN, contract_load(CONTRACT))
    assert (plan.financier, plan.commissioner) == ("lsv", "norrkoping")
    assert len(plan.reports) == 20
    assert plan.reports[0].date == date(2016, 3, 31) and plan.reports[-1].date == date(2020, 12, 31)
    assert plan.structure.total == Decimal("1.01")
    assert plan.structure.payees == {
        "evaluation": "evaluator",
        "intermediary": "skl",
        "tutoring": "tutoring",
    }


def test_plan_problems_are_located(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        "financier: lsv\ncommitment_sek: 100\ncommitment_from: invested_cap_sek\n"
        "cost_structure: {a: 1}\ncost_reports: []\nsettlement_date: 2022-01-01\nsurprise: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(FindingsError) as caught:
        finance_plan_load(bad, contract_load(CONTRACT))
    messages = {f.message: f.line for f in caught.value.findings}
    assert messages["unknown field 'surprise'"] == 7
    bad.write_text(bad.read_text(encoding="utf-8").replace("surprise: 1\n", ""), encoding="utf-8")
    with pytest.raises(FindingsError) as caught:
        finance_plan_load(bad, contract_load(CONTRACT))
    assert [f.message for f in caught.value.findings] == [
        "give either commitment_sek or commitment_from (a parameter)"
    ]
    bad.write_text(
        "financier: lvs\ncommitment_sek: 100\ncost_structure: {a: {share: 1, payee: nobody}}\n"
        "cost_reports: []\nsettlement_date: 2022-01-01\npayment_dates: {bonus: 2022-01-01}\n",
        encoding="utf-8",
    )
    with pytest.raises(FindingsError) as caught:
        finance_plan_load(bad, contract_load(CONTRACT))
    found = {(f.path, f.message) for f in caught.value.findings}
    assert (
        "cost_structure.a.payee",
        "'nobody' is not a party of norrkoping-placed-children",
    ) in found
    assert (
        "payment_dates.bonus",
        "'bonus' is not a payment of norrkoping-placed-children",
    ) in found


def test_cash_flows_irr_and_break_even_of_the_norrkoping_example():
    settlement, report, _ = finance_cashflows(
        contract_path=CONTRACT, facts_path=FACTS, plan_path=PLAN
    )
    assert report.invested == Decimal("10000000.00")
    assert report.received == Decimal("10850000.00")
    assert report.multiple == Decimal("1.085")
    # The financier's flows, written out by hand: 20 quarterly drawdowns of 500 000, then
    # repayment and premium together on the settlement date.
    dates = [d.date for d in report.drawdowns] + [date(2022, 3, 31)]
    expected = pyxirr.xirr(dates, [-500_000.0] * 20 + [10_850_000.0])
    assert report.irr == pytest.approx(expected, abs=1e-12)
    assert 0.02 < report.irr < 0.025
    # Savings: 10.85 MSEK over 70 months weighted -1 (8 months) then +2 (62 months), i.e.
    # -93 534.48 a month, then +187 068.97; the cumulative turns positive in the 12th month
    # of savings (March 2016 + 11), which is month 13 counted from the contract start in
    # February 2016; paying the financier in 2022 brings it back to exactly zero, not below.
    assert report.break_even is not None
    assert (report.break_even.month, report.break_even.start) == (13, date(2017, 2, 1))
    assert report.commissioner_positions[-1].cumulative == 0
    assert any("101.00 %" in note for note in report.notes)
    assert {f.kind for f in report.flows} == {"drawdown", "cost", "saving", "payment"}
    assert settlement.outputs["premium_sek"] == Decimal("850000.00")


def test_simulation_probabilities_match_the_closed_form():
    """Reading B with savings ~ N(8, 5) MSEK and school thresholds met with p = 0.6:
    full repayment needs savings of 6 MSEK (P = Φ(0.4)); a premium needs savings above the
    10 MSEK invested and the thresholds met (P = 0.6 (1 − Φ(0.4)))."""
    outcome = finance_simulate(
        contract_path=CONTRACT,
        distributions=["net_savings_sek=normal(8e6, 5e6)", "school_results_met=bernoulli(0.6)"],
        facts_path=FACTS,
        plan_path=PLAN,
        size=60_000,
        seed=11,
        check=150,
    )
    assert outcome.valid == 60_000 and not outcome.errors
    assert outcome.checked == 150 and outcome.disagreements == []
    assert outcome.full_repayment == pytest.approx(norm.cdf(0.4), abs=0.01)
    assert outcome.premium == pytest.approx(0.6 * (1 - norm.cdf(0.4)), abs=0.01)
    assert outcome.payment_positive["premium"] == pytest.approx(outcome.premium, abs=1e-12)
    assert outcome.multiple.maximum == pytest.approx(1.2)
    assert outcome.multiple.minimum == pytest.approx(0.4)
    # IRR of the bounds, by hand: 0.4 back (the guarantee) and 1.2 back (the capped premium).
    quarters = [date(2016, 3, 31)]
    while len(quarters) < 20:
        nxt = quarters[-1] + timedelta(days=95)
        quarters.append(date(nxt.year, nxt.month, 1) - timedelta(days=1))
    low = pyxirr.xirr([*quarters, date(2022, 3, 31)], [-5e5] * 20 + [4e6])
    high = pyxirr.xirr([*quarters, date(2022, 3, 31)], [-5e5] * 20 + [1.2e7])
    assert outcome.irr.minimum == pytest.approx(low, abs=1e-7)
    assert outcome.irr.maximum == pytest.approx(high, abs=1e-7)
    assert low < outcome.irr.mean < high


def test_scenarios_from_a_file(tmp_path):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text(
        "invested_sek,net_savings_sek,school_results_met\n"
        "10000000,3000000,false\n10000000,15000000.50,true\n8000000,-1000000,true\n",
        encoding="utf-8",
    )
    outcome = finance_simulate(
        contract_path=CONTRACT, scenarios_path=scenarios, invested_term="invested_counted_sek"
    )
    assert outcome.scenarios == 3 and outcome.valid == 3 and outcome.disagreements == []
    assert outcome.to_financier.maximum == pytest.approx(12_000_000)
    assert outcome.full_repayment == pytest.approx(1 / 3)
    assert outcome.schedule.endswith("(from the contract's periods)")
    bad = tmp_path / "bad.csv"
    bad.write_text("net_savings_sek,colour\n1.005,blue\n", encoding="utf-8")
    with pytest.raises(DataInvalid) as caught:
        scenarios_read(bad, contract_load(CONTRACT))
    found = {(f.field_name, f.row, f.message.split(":")[0]) for f in caught.value.findings}
    assert ("colour", None, "norrkoping-placed-children has no input 'colour'") in found
    assert ("net_savings_sek", 2, "money has at most two decimals") in found


def test_simulation_input_errors():
    with pytest.raises(UserError, match="has no input 'savings'"):
        finance_simulate(
            contract_path=CONTRACT, distributions=["savings=normal(1, 1)"], facts_path=FACTS
        )
    with pytest.raises(UserError, match="unknown distribution 'gauss'"):
        finance_simulate(
            contract_path=CONTRACT, distributions=["net_savings_sek=gauss(1, 1)"], facts_path=FACTS
        )
    with pytest.raises(UserError, match="no values for invested_sek, school_results_met"):
        finance_simulate(contract_path=CONTRACT, distributions=["net_savings_sek=normal(1, 1)"])


def test_clipped_draws_are_counted_and_refused_inputs_reported():
    outcome = finance_simulate(
        contract_path=CONTRACT,
        distributions=["invested_sek=normal(5e6, 5e6)", "net_savings_sek=uniform(0, 2e7)"],
        facts_path=FACTS,
        size=5000,
        seed=3,
        invested_term="invested_counted_sek",
        check=50,
    )
    assert outcome.clipped["invested_sek"] == pytest.approx(5000 * norm.cdf(-1), rel=0.1)
    assert outcome.valid == 5000 and outcome.disagreements == []
    assert np.isfinite(outcome.irr.mean)
