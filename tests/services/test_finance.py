"""Finance plans, a settlement's cash flows and returns, and the Monte Carlo service — all on
objects: a compiled contract, a plan's text, facts, a settlement of the one pipeline and a
table provider."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import pyxirr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from utfall.adapters.files import contract_read, facts_read
from utfall.adapters.finance import finance_plan_read, scenarios_read
from utfall.core.contracts import parse_contract
from utfall.errors import DataInvalid, FindingsError, UserError
from utfall.services.contracts import Facts, contract_settle
from utfall.services.finance import (
    Scenarios,
    finance_break_even,
    finance_cashflows,
    finance_drawdowns,
    finance_plan_parse,
    finance_simulate,
    scenarios_columns,
    scenarios_from_rows,
)
from utfall.services.tables import ArrowTables, conform

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
PLAN = ROOT / "examples/finance/norrkoping-plan.yaml"
PLAN_FROM_DATA = ROOT / "examples/finance/norrkoping-plan-from-data.yaml"

# A contract no code of utfall knows: a series table of invoices with two money columns.
UNKNOWN = """\
id: tutoring-pilot
title: A tutoring pilot nobody's code knows
version: "1"
currency: SEK
rounding: half_up
parties:
  - {id: town, name: The town, role: commissioner}
  - {id: fund, name: The fund, role: financier}
  - {id: school, name: The school, role: provider}
periods:
  delivery: {start: 2024-01-01, end: 2024-12-31}
parameters:
  commitment_sek: {type: money, default: 1000, min: 0}
  bonus_share: {type: ratio, default: 0.1, min: 0, max: 1}
data:
  participants:
    label: {sv: Elever, en: Pupils}
    unit: {sv: elev, en: pupil}
    inclusion: started_on
    columns:
      started_on: {type: date, label: {sv: Start, en: Start}}
  tables:
    invoices:
      kind: series
      label: {sv: Fakturor, en: Invoices}
      date: invoiced_on
      columns:
        invoiced_on: {type: date, label: {sv: Fakturadatum, en: Invoice date}}
        line:
          type: choice
          required: false
          label: {sv: Rad, en: Line}
          choices:
            staff: {sv: Personal, en: Staff}
            books: {sv: Böcker, en: Books}
        net: {type: money, label: {sv: Netto, en: Net}}
        vat: {type: money, required: false, label: {sv: Moms, en: VAT}}
    lessons:
      kind: records
      label: {sv: Lektioner, en: Lessons}
      date: held_on
      columns:
        held_on: {type: date, label: {sv: Datum, en: Date}}
        fee: {type: money, label: {sv: Avgift, en: Fee}}
inputs:
  spent_sek: {type: money, min: 0}
  goal_met: {type: boolean}
outputs:
  repaid_sek:
    type: money
    formula: min(spent_sek, commitment_sek)
  bonus_sek:
    type: money
    formula: if goal_met then round(bonus_share * repaid_sek) else 0
payments:
  - {id: repayment, payer: town, payee: fund, amount: repaid_sek, label: Repayment}
  - {id: bonus, payer: town, payee: fund, amount: bonus_sek, label: Bonus}
"""

PLAN_OF_UNKNOWN = """\
commitment_from: commitment_sek
cost_structure:
  staff: {share: 0.75, payee: school}
  books: 0.25
cost_reports: {table: invoices, amount: net}
settlement_date: 2025-03-31
start: 2024-01-01
"""


@pytest.fixture(scope="module")
def norrkoping():
    return contract_read(CONTRACT)


@pytest.fixture(scope="module")
def unknown():
    return parse_contract(UNKNOWN, source="tutoring-pilot.yaml")


def _invoices(contract, rows):
    """The invoices table in canonical form, from (day, line, net) rows."""
    raw = pa.table(
        {
            "invoiced_on": pa.array([r[0] for r in rows], pa.date32()),
            "line": pa.array([r[1] for r in rows], pa.string()),
            "net": pa.array([r[2] for r in rows], pa.decimal128(18, 2)),
        }
    )
    return conform(raw, contract.data.table("invoices"), where="invoices")


def test_the_norrkoping_plan_reads(norrkoping):
    plan = finance_plan_read(PLAN, norrkoping)
    assert (plan.financier, plan.commissioner) == ("lsv", "norrkoping")
    assert len(plan.reports) == 20 and plan.reports_table is None
    assert plan.reports[0].date == date(2016, 3, 31) and plan.reports[-1].date == date(2020, 12, 31)
    assert plan.structure.total == Decimal("1.01")
    assert plan.structure.payees == {
        "evaluation": "evaluator",
        "intermediary": "skl",
        "tutoring": "tutoring",
    }


def test_plan_problems_are_located(norrkoping):
    text = (
        "financier: lsv\ncommitment_sek: 100\ncommitment_from: invested_cap_sek\n"
        "cost_structure: {a: 1}\ncost_reports: []\nsettlement_date: 2022-01-01\nsurprise: 1\n"
    )
    with pytest.raises(FindingsError) as caught:
        finance_plan_parse(text, source="plan.yaml", contract=norrkoping)
    messages = {f.message: f.line for f in caught.value.findings}
    assert messages["unknown field 'surprise'"] == 7
    assert all(f.file == "plan.yaml" for f in caught.value.findings)
    with pytest.raises(FindingsError) as caught:
        finance_plan_parse(
            text.replace("surprise: 1\n", ""), source="plan.yaml", contract=norrkoping
        )
    assert [f.message for f in caught.value.findings] == [
        "give either commitment_sek or commitment_from (a parameter)"
    ]
    text = (
        "financier: lvs\ncommitment_sek: 100\ncost_structure: {a: {share: 1, payee: nobody}}\n"
        "cost_reports: []\nsettlement_date: 2022-01-01\npayment_dates: {bonus: 2022-01-01}\n"
    )
    with pytest.raises(FindingsError) as caught:
        finance_plan_parse(text, source="plan.yaml", contract=norrkoping)
    found = {(f.path, f.message) for f in caught.value.findings}
    assert (
        "cost_structure.a.payee",
        "'nobody' is not a party of norrkoping-placed-children",
    ) in found
    assert (
        "payment_dates.bonus",
        "'bonus' is not a payment of norrkoping-placed-children",
    ) in found


def test_a_bad_schedule_is_located_at_its_key(norrkoping):
    text = PLAN.read_text(encoding="utf-8").replace("  count: 20\n", "  count: 0\n")
    with pytest.raises(FindingsError) as caught:
        finance_plan_parse(text, source="plan.yaml", contract=norrkoping)
    (finding,) = caught.value.findings
    assert finding.path == "cost_reports.count" and finding.line is not None


def test_cash_flows_irr_and_break_even_of_the_norrkoping_example(norrkoping):
    run = contract_settle(norrkoping, facts=facts_read(FACTS))
    plan = finance_plan_read(PLAN, norrkoping)
    report = finance_cashflows(run, plan)
    assert report.settled
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
    assert run.settlement.outputs["premium_sek"] == Decimal("850000.00")
    # The settlement itself does as well as its run; the break-even is the same figure.
    assert finance_cashflows(run.settlement, plan) == report
    assert finance_break_even(run, plan) == report.break_even


def test_a_plan_read_against_another_contract_is_refused(norrkoping, unknown):
    plan = finance_plan_parse(PLAN_OF_UNKNOWN, source="plan.yaml", contract=unknown)
    run = contract_settle(norrkoping, facts=facts_read(FACTS))
    with pytest.raises(UserError, match="read against tutoring-pilot"):
        finance_cashflows(run, plan, tables=ArrowTables({}))


def test_before_a_settlement_the_drawdowns_and_costs_are_shown(norrkoping):
    plan = finance_plan_read(PLAN, norrkoping)
    report = finance_drawdowns(norrkoping, plan)
    assert not report.settled
    assert len(report.drawdowns) == 20 and report.invested == Decimal("10000000.00")
    assert report.received == 0
    assert report.multiple is None and report.irr is None and report.break_even is None
    assert {f.kind for f in report.flows} == {"drawdown", "cost"}
    assert any("need a settlement" in note for note in report.notes)
    assert any("net_savings_sek of the settlement" in note for note in report.notes)
    # The same drawdowns as once the settlement is there.
    settled = finance_cashflows(contract_settle(norrkoping, facts=facts_read(FACTS)), plan)
    assert settled.drawdowns == report.drawdowns
    # A what-if on the commitment applies before the settlement too.
    smaller = finance_drawdowns(norrkoping, plan, overrides={"invested_cap_sek": "1200000"})
    assert smaller.invested == Decimal("1200000.00")
    assert smaller.drawdowns[2].drawn == Decimal("200000.00")
    assert smaller.drawdowns[2].own == Decimal("300000.00")


def test_monthly_savings_count_before_a_settlement(norrkoping):
    text = PLAN.read_text(encoding="utf-8")
    text = text[: text.index("savings:")] + (
        "savings:\n  start: 2016-03-01\n  monthly_sek: [-100, 250, 250]\n"
    )
    plan = finance_plan_parse(text, source="plan.yaml", contract=norrkoping)
    report = finance_drawdowns(norrkoping, plan)
    savings = [f for f in report.flows if f.kind == "saving"]
    assert [(f.date, f.amount, f.payee) for f in savings] == [
        (date(2016, 3, 1), Decimal(100), None),
        (date(2016, 4, 1), Decimal(250), "norrkoping"),
        (date(2016, 5, 1), Decimal(250), "norrkoping"),
    ]
    assert not any("of the settlement" in note for note in report.notes)


# ----------------------------------------------------------------------------- from a table


def test_cost_reports_from_a_declared_table(unknown):
    plan = finance_plan_parse(PLAN_OF_UNKNOWN, source="plan.yaml", contract=unknown)
    assert plan.reports_table is not None
    assert (plan.reports_table.date, plan.reports_table.amount, plan.reports_table.category) == (
        "invoiced_on",
        "net",
        "line",
    )
    tables = ArrowTables(
        {
            "invoices": _invoices(
                unknown,
                [
                    (date(2024, 3, 31), "staff", Decimal("300.00")),
                    (date(2024, 3, 31), "books", Decimal("50.00")),
                    (date(2024, 3, 31), "staff", Decimal("100.00")),
                    # No category: split by the cost structure (3/4 staff, 1/4 books).
                    (date(2024, 6, 30), None, Decimal("400.01")),
                    (date(2024, 9, 30), "books", Decimal("600.00")),
                    (date(2024, 9, 30), None, Decimal("100.00")),
                ],
            )
        }
    )
    reports = plan.cost_reports(tables)
    assert [(r.date, r.amount, r.by_category) for r in reports] == [
        (
            date(2024, 3, 31),
            Decimal("450.00"),
            {"staff": Decimal("400.00"), "books": Decimal("50.00")},
        ),
        (date(2024, 6, 30), Decimal("400.01"), None),
        (
            date(2024, 9, 30),
            Decimal("700.00"),
            {"books": Decimal("625.00"), "staff": Decimal("75.00")},
        ),
    ]
    run = contract_settle(unknown, facts=Facts({"spent_sek": "1000", "goal_met": True}))
    report = finance_cashflows(run, plan, tables=tables)
    assert [d.drawn for d in report.drawdowns] == [
        Decimal("450.00"),
        Decimal("400.01"),
        Decimal("149.99"),
    ]
    assert report.drawdowns[-1].own == Decimal("550.01")
    assert report.invested == Decimal("1000.00") and report.received == Decimal("1100.00")
    # The school is paid for the staff lines, the books are bought outside the contract.
    school = sum((f.amount for f in report.flows if f.payee == "school"), Decimal(0))
    assert school == Decimal("400.00") + Decimal("300.01") + Decimal("75.00")
    # Its shares sum to 100 %: no note on them, only the costs beyond the commitment.
    assert report.notes == (
        "the cost reports exceed the commitment of 1000: the commissioner carries 550.01 itself",
    )


def test_a_table_backed_plan_equals_the_same_reports_listed(norrkoping, tmp_path):
    """The Norrköping plan drawing on its declared cost_reports table reports exactly what the
    plan with the same reports written out does."""
    rows = [
        (date(2016, 3, 31), "tutoring", Decimal("120000.00")),
        (date(2016, 3, 31), "salaries", Decimal("380000.00")),
        (date(2016, 6, 30), "other", Decimal("9000000.00")),
        (date(2016, 9, 30), "evaluation", Decimal("2000000.00")),
    ]
    raw = pa.table(
        {
            "period_end": pa.array([r[0] for r in rows], pa.date32()),
            "category": pa.array([r[1] for r in rows]),
            "amount": pa.array([r[2] for r in rows], pa.decimal128(18, 2)),
        }
    )
    tables = ArrowTables(
        {"cost_reports": conform(raw, norrkoping.data.table("cost_reports"), where="t")}
    )
    from_table = finance_plan_read(PLAN_FROM_DATA, norrkoping)
    listed_text = PLAN_FROM_DATA.read_text(encoding="utf-8").replace(
        "  table: cost_reports ",
        "  - {date: 2016-03-31, amount_sek: 500000.00, by_category: {tutoring: 120000, "
        "salaries: 380000}}\n  - {date: 2016-06-30, amount_sek: 9000000.00, by_category: "
        "{other: 9000000}}\n  - {date: 2016-09-30, amount_sek: 2000000.00, by_category: "
        "{evaluation: 2000000}}\n #",
    )
    listed = finance_plan_parse(listed_text, source="listed.yaml", contract=norrkoping)
    run = contract_settle(norrkoping, facts=facts_read(FACTS))
    report = finance_cashflows(run, from_table, tables=tables)
    assert report == finance_cashflows(run, listed)
    assert report.drawdowns[-1].own == Decimal("1500000.00")


def test_a_table_backed_plan_needs_the_tables(norrkoping):
    plan = finance_plan_read(PLAN_FROM_DATA, norrkoping)
    run = contract_settle(norrkoping, facts=facts_read(FACTS))
    with pytest.raises(UserError, match="come from the table cost_reports"):
        finance_cashflows(run, plan)
    with pytest.raises(DataInvalid, match="no table 'cost_reports'"):
        finance_cashflows(run, plan, tables=ArrowTables({}, origin="the stored rows"))


def test_the_table_of_the_cost_reports_is_checked_against_the_declaration(unknown):
    def problems(reports: str, structure: str = "{staff: 0.75, books: 0.25}"):
        text = (
            f"commitment_sek: 10\ncost_structure: {structure}\ncost_reports: {reports}\n"
            "settlement_date: 2025-01-01\n"
        )
        with pytest.raises(FindingsError) as caught:
            finance_plan_parse(text, source="p.yaml", contract=unknown)
        return {(f.path, f.message, f.line) for f in caught.value.findings}

    assert problems("{table: invoice}") == {
        (
            "cost_reports.table",
            "tutoring-pilot declares no table 'invoice' (its series tables: invoices)",
            3,
        )
    }
    assert {p[1] for p in problems("{table: lessons}")} == {
        "lessons is a table of participants' records; cost reports are a series table "
        "(kind: series)"
    }
    assert {p[1] for p in problems("{table: invoices}")} == {
        "invoices has 2 money columns (net, vat); say which is the amount"
    }
    assert {p[1] for p in problems("{table: invoices, amount: vat}")} == {
        "invoices.vat is optional; a cost report's amount must be required"
    }
    assert {p[1] for p in problems("{table: invoices, amount: line}")} == {
        "invoices.line is choice; the amount is a money column"
    }
    assert {p[1] for p in problems("{table: invoices, amount: net, category: net}")} == {
        "invoices.net is money; the category is a choice column"
    }
    assert {
        (p[0], p[1]) for p in problems("{table: invoices, amount: net}", "{staff: 1, food: 0}")
    } == {
        (
            "cost_structure.food",
            "'food' is not a value of invoices.line (staff, books): no cost report can be of it",
        )
    }
    assert {p[1] for p in problems("{table: invoices, amount: net, surprise: 1}")} == {
        "unknown field 'surprise'"
    }


amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5),
            st.sampled_from([None, "staff", "books"]),
            amounts,
        ),
        max_size=25,
    ),
    st.decimals(min_value=0, max_value=20_000, places=2, allow_nan=False),
)
def test_table_reports_conserve_every_ore(rows, commitment):
    contract = parse_contract(UNKNOWN, source="tutoring-pilot.yaml")
    plan = finance_plan_parse(PLAN_OF_UNKNOWN, source="plan.yaml", contract=contract)
    table = _invoices(
        contract, [(date(2024, 1, 31) + timedelta(days=31 * d), c, a) for d, c, a in rows]
    )
    reports = plan.cost_reports(ArrowTables({"invoices": table}))
    total = sum((a for _, _, a in rows), Decimal(0))
    assert sum((r.amount for r in reports), Decimal(0)) == total
    assert len({r.date for r in reports}) == len(reports) == len({d for d, _, _ in rows})
    for report in reports:
        if report.by_category is not None:
            assert sum(report.by_category.values(), Decimal(0)) == report.amount
    overrides = {"commitment_sek": str(commitment)}
    result = finance_drawdowns(
        contract, plan, tables=ArrowTables({"invoices": table}), overrides=overrides
    )
    assert result.invested == min(total, commitment)
    assert all(d.drawn + d.own == d.reported for d in result.drawdowns)
    assert all(d.drawn >= 0 and d.own >= 0 for d in result.drawdowns)


# ----------------------------------------------------------------------------- simulate


def test_simulation_probabilities_match_the_closed_form(norrkoping):
    """Reading B with savings ~ N(8, 5) MSEK and school thresholds met with p = 0.6:
    full repayment needs savings of 6 MSEK (P = Φ(0.4)); a premium needs savings above the
    10 MSEK invested and the thresholds met (P = 0.6 (1 − Φ(0.4)))."""
    outcome = finance_simulate(
        norrkoping,
        distributions=["net_savings_sek=normal(8e6, 5e6)", "school_results_met=bernoulli(0.6)"],
        facts=facts_read(FACTS),
        plan=finance_plan_read(PLAN, norrkoping),
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
    assert outcome.sources["invested_sek"] == "fixed from norrkoping-placed-children.yaml"
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


def test_the_simulation_draws_down_a_table_backed_plan(unknown):
    plan = finance_plan_parse(PLAN_OF_UNKNOWN, source="plan.yaml", contract=unknown)
    tables = ArrowTables(
        {
            "invoices": _invoices(
                unknown,
                [
                    (date(2024, 3, 31), "staff", Decimal("500")),
                    (date(2024, 9, 30), None, Decimal("500")),
                ],
            )
        }
    )
    outcome = finance_simulate(
        unknown,
        distributions=["spent_sek=uniform(0, 2000)", "goal_met=bernoulli(0.5)"],
        plan=plan,
        tables=tables,
        invested_term="repaid_sek",
        size=2000,
        check=50,
    )
    assert outcome.schedule.startswith("2 drawdown(s) 2024-03-31 – 2024-09-30")
    assert outcome.disagreements == [] and outcome.irr is not None
    with pytest.raises(UserError, match="come from the table invoices"):
        finance_simulate(
            unknown,
            distributions=["spent_sek=uniform(0, 2000)", "goal_met=bernoulli(0.5)"],
            plan=plan,
            invested_term="repaid_sek",
            size=10,
        )


def test_scenarios_from_a_file(norrkoping, tmp_path):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text(
        "invested_sek,net_savings_sek,school_results_met,school_did_met,delivered_as_agreed\n"
        "10000000,3000000,false,false,true\n10000000,15000000.50,true,true,true\n"
        "8000000,-1000000,true,true,true\n",
        encoding="utf-8",
    )
    outcome = finance_simulate(
        norrkoping, scenarios=scenarios_read(scenarios), invested_term="invested_counted_sek"
    )
    assert outcome.scenarios == 3 and outcome.valid == 3 and outcome.disagreements == []
    assert outcome.to_financier.maximum == pytest.approx(12_000_000)
    assert outcome.full_repayment == pytest.approx(1 / 3)
    assert outcome.schedule.endswith("(from the contract's periods)")
    assert outcome.sources["invested_sek"] == "scenarios file scenarios.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("net_savings_sek,colour\n1.005,blue\n", encoding="utf-8")
    with pytest.raises(DataInvalid) as caught:
        scenarios_columns(scenarios_read(bad), norrkoping)
    found = {(f.field_name, f.row, f.message.split(":")[0]) for f in caught.value.findings}
    assert ("colour", None, "norrkoping-placed-children has no input 'colour'") in found
    assert ("net_savings_sek", 2, "money has at most two decimals") in found


MET = {"school_results_met": True, "school_did_met": True, "delivered_as_agreed": True}
NOT_MET = {**MET, "school_results_met": False, "school_did_met": False}


def test_scenarios_as_objects_and_as_json(norrkoping, tmp_path):
    rows = [
        {"invested_sek": 10_000_000, "net_savings_sek": 20_000_000, **MET},
        {"invested_sek": 10_000_000, "net_savings_sek": 0, **NOT_MET},
    ]
    outcome = finance_simulate(
        norrkoping,
        scenarios=scenarios_from_rows(rows, source="two scenarios"),
        invested_term="invested_counted_sek",
    )
    assert outcome.scenarios == 2 and outcome.premium == pytest.approx(0.5)
    table = Scenarios(pa.table({"net_savings_sek": [1.0, None]}), source="s", row_offset=1)
    with pytest.raises(DataInvalid) as caught:
        scenarios_columns(table, norrkoping)
    assert [(f.row, f.code) for f in caught.value.findings] == [(2, "scenarios:empty")]
    as_json = tmp_path / "s.json"
    as_json.write_text('[{"net_savings_sek": 1.5}]', encoding="utf-8")
    assert scenarios_read(as_json).table.column("net_savings_sek").to_pylist() == [1.5]
    as_json.write_text('{"net_savings_sek": 1.5}', encoding="utf-8")
    with pytest.raises(UserError, match="a list of rows"):
        scenarios_read(as_json)
    with pytest.raises(UserError, match="no such scenarios file"):
        scenarios_read(tmp_path / "missing.csv")
    with pytest.raises(UserError, match=r"\.csv, \.parquet, \.json or \.yaml"):
        spreadsheet = tmp_path / "s.xlsx"
        spreadsheet.write_bytes(b"PK")
        scenarios_read(spreadsheet)


def test_simulation_input_errors(norrkoping):
    facts = facts_read(FACTS)
    with pytest.raises(UserError, match="has no input 'savings'"):
        finance_simulate(norrkoping, distributions=["savings=normal(1, 1)"], facts=facts)
    with pytest.raises(UserError, match="unknown distribution 'gauss'"):
        finance_simulate(norrkoping, distributions=["net_savings_sek=gauss(1, 1)"], facts=facts)
    with pytest.raises(UserError, match="no values for delivered_as_agreed, invested_sek"):
        finance_simulate(norrkoping, distributions=["net_savings_sek=normal(1, 1)"])


def test_clipped_draws_are_counted_and_refused_inputs_reported(norrkoping):
    outcome = finance_simulate(
        norrkoping,
        distributions=["invested_sek=normal(5e6, 5e6)", "net_savings_sek=uniform(0, 2e7)"],
        facts=facts_read(FACTS),
        size=5000,
        seed=3,
        invested_term="invested_counted_sek",
        check=50,
    )
    assert outcome.clipped["invested_sek"] == pytest.approx(5000 * norm.cdf(-1), rel=0.1)
    assert outcome.valid == 5000 and outcome.disagreements == []
    assert np.isfinite(outcome.irr.mean)
