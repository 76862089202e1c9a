"""The fund on the one pipeline: reports, costs and payments are rows of the constellation's
contract (imported as any file is), every statement is ``contract_settle`` on those stored
rows as of the report's period end, and "paid before" never double counts.

* the fund's payments equal ``contract_settle`` on the same stored tables, to the öre;
* over three reports, each statement counts every earlier payment and never its own (also
  when an earlier report is settled again after later payments);
* a fund whose contract lacks what its configuration names is refused, every problem named.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from fund_workflow import evaluate_and_sign

from utfall.platform.fund import services
from utfall.platform.fund.contract import FundInvalid
from utfall.platform.fund.models import OutcomeReport

MSEK = Decimal(1_000_000)
NUMBERS = count(1)
FUND_CONTRACT = (
    Path(__file__).resolve().parents[3] / "examples/contracts/national-fund-constellation.yaml"
)
PERIODS = (
    # start, end, costs to date, pupils with problematic absence of 200, in work of 150
    (date(2025, 1, 1), date(2025, 6, 30), Decimal(0), 40, 90),
    (date(2025, 7, 1), date(2025, 12, 31), 4 * MSEK, 20, 110),
    (date(2026, 1, 1), date(2026, 6, 30), 6 * MSEK, 16, 114),
    (date(2026, 7, 1), date(2026, 12, 31), 10 * MSEK, 10, 120),
)


def _submit(w, start, end, costs, absence, work, *, baseline=False) -> OutcomeReport:
    return services.report_submit(
        constellation=w.constellation,
        actor=w.applicant,
        period_start=start,
        period_end=end,
        reported_costs_to_date=costs,
        lines=[
            {"indicator": w.indicators["school_absence"], "n": 200, "count": absence},
            {"indicator": w.indicators["work_or_studies"], "n": 150, "count": work},
        ],
        is_baseline=baseline,
    )


def _settled_on_stored_rows(w, until):
    """What the one pipeline gives on the constellation's stored rows as of ``until``."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.tables import StoredTables
    from utfall.services.contracts import contract_settle

    contract = w.constellation.contract
    document = parsed_version(latest_version(contract))
    return contract_settle(document, tables=StoredTables(contract), until=until).settlement


def test_three_reports_paid_on_the_pipeline_never_double_count(selected):
    from utfall.platform.tables import StoredTables

    w = selected
    _submit(w, *PERIODS[0], baseline=True)
    payments = []
    for start, end, costs, absence, work in PERIODS[1:]:
        report = _submit(w, start, end, costs, absence, work)
        expected = _settled_on_stored_rows(w, end)
        statement = evaluate_and_sign(w, report)
        # The statement is the pipeline on the stored rows, as of the report's period end.
        assert statement.manual_inputs == {}
        assert Decimal(statement.result["inputs"]["paid_before_sek"]) == sum(payments, Decimal(0))
        assert statement.result["outputs"]["outcome_payment_sek"] == str(
            expected.outputs["outcome_payment_sek"]
        )
        payment = services.report_pay(report=report, actor=w.admin, year=2026)
        # The budget does not bind here: the fund pays what the contract computes, to the öre.
        assert payment.binding == "outcomes"
        assert payment.amount == expected.outputs["outcome_payment_sek"]
        payments.append(payment.amount)
    # 200·(20, 24, 30) pupils × 10 000 + (20, 24, 30) young people × 60 000 to date.
    assert payments == [Decimal("1400000.00"), Decimal("280000.00"), Decimal("420000.00")]
    assert sum(payments) == Decimal("2100000.00")  # the rate-card value to date, once
    # The payments are rows of the contract: dated with the period end of the report paid,
    # after the row of nothing paid that opened the table at selection.
    stored = StoredTables(w.constellation.contract).table("outcome_payments").to_pylist()
    by_day = {row["period_end"]: row["amount"] for row in stored}
    assert [by_day[end] for _, end, *_ in PERIODS[1:]] == payments
    assert sorted(by_day.values())[0] == 0 and len(by_day) == 4
    # Settled again now, each report counts the payments before it, never its own or later.
    for index, (_, end, *_) in enumerate(PERIODS[1:]):
        again = _settled_on_stored_rows(w, end)
        assert again.inputs["paid_before_sek"] == sum(payments[:index], Decimal(0))
        assert again.outputs["outcome_payment_sek"] == payments[index]


def test_a_report_is_imported_rows_of_the_contract(selected):
    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.settlements.ledger import ledger_entries
    from utfall.platform.tables import StoredTables

    w = selected
    _submit(w, *PERIODS[0], baseline=True)
    report = _submit(w, *PERIODS[1])
    batches = ImportBatch.objects.filter(contract=w.constellation.contract)
    assert {b.table for b in batches} == {"outcome_reports", "cost_reports", "outcome_payments"}
    assert all(b.status == BatchStatus.COMMITTED for b in batches)
    # The constellation imported its reports; the fund's administrator opened the payments.
    assert {b.created_by for b in batches.exclude(table="outcome_payments")} == {w.applicant}
    assert batches.get(table="outcome_payments").created_by == w.admin
    imported = [
        e
        for e in ledger_entries()
        if e.contract_identifier == report.constellation.contract.identifier and e.kind == "import"
    ]
    assert len(imported) == batches.count()
    rows = StoredTables(w.constellation.contract).table("outcome_reports").to_pylist()
    assert sorted(
        (r["period_end"], r["indicator"], r["n"], r["count"], r["baseline"]) for r in rows
    ) == [
        (date(2025, 6, 30), "school_absence", 200, 40, True),
        (date(2025, 6, 30), "work_or_studies", 150, 90, True),
        (date(2025, 12, 31), "school_absence", 200, 20, False),
        (date(2025, 12, 31), "work_or_studies", 150, 110, False),
    ]
    costs = StoredTables(w.constellation.contract).table("cost_reports").to_pylist()
    assert [(r["period_end"], r["costs_to_date"]) for r in costs] == [
        (date(2025, 6, 30), Decimal("0.00")),
        (date(2025, 12, 31), Decimal("4000000.00")),
    ]


def test_an_indicator_the_contract_does_not_pay_on_is_followed(fund_world):
    w = fund_world
    application = w.submit(codes=("school_absence", "placement_costs"))
    services.application_screen(
        application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
    )
    services.call_close(call=w.call, actor=w.admin)
    services.selection_decide(
        call=w.call, actor=w.admin, application_ids=[application.pk], reasons="Fits"
    )
    w.constellation = application.constellation
    for start, end, costs, absence, placements, baseline in (
        (date(2025, 1, 1), date(2025, 6, 30), Decimal(0), 40, 30, True),
        (date(2025, 7, 1), date(2025, 12, 31), 4 * MSEK, 20, 20, False),
    ):
        report = services.report_submit(
            constellation=w.constellation,
            actor=w.applicant,
            period_start=start,
            period_end=end,
            reported_costs_to_date=costs,
            lines=[
                {"indicator": w.indicators["school_absence"], "n": 200, "count": absence},
                {"indicator": w.indicators["placement_costs"], "n": 60, "count": placements},
            ],
            is_baseline=baseline,
        )
    statement = evaluate_and_sign(w, report)
    assert statement.result["outputs"]["rate_card_value_sek"] == "200000.00"
    lines = {line.indicator.code: line for line in report.lines.all()}
    assert lines["placement_costs"].evaluation == {"followed": True}
    assert lines["placement_costs"].verified_units is None
    assert lines["school_absence"].verified_units == 20


def _configuration(**changes):
    from dataclasses import replace

    from utfall.platform.fund.demo import FUND_CONFIGURATION

    return replace(FUND_CONFIGURATION, **changes)


def _fund(w, text, configuration, name="Another fund"):
    from utfall.core.fund import PILOT_BUDGET
    from utfall.platform.contracts.services import contract_create

    contract = contract_create(
        text=text.replace("id: national-fund-constellation", f"id: fund-{next(NUMBERS)}", 1),
        organisation=w.delegation,
        actor=w.admin,
        file_name="fund.yaml",
    )
    return services.fund_create(
        name=name,
        administrator=w.delegation,
        budget=PILOT_BUDGET,
        actor=None,
        contract=contract,
        evaluator=w.evaluation_agency,
        configuration=configuration,
    )


def test_a_fund_whose_contract_lacks_the_configured_tables_is_refused(fund_world):
    from utfall.platform.fund.models import Fund

    w = fund_world
    text = FUND_CONTRACT.read_text(encoding="utf-8")
    with pytest.raises(FundInvalid) as refused:
        _fund(
            w,
            text,
            _configuration(
                reports_table="indicator_rows", n_column="indicator", value_output="paid"
            ),
        )
    problems = {f.field_name: f.message for f in refused.value.findings}
    assert "declares no table 'indicator_rows'" in problems["reports_table"]
    assert "outcome_reports" in problems["reports_table"]  # the tables there are
    assert "no money output 'paid'" in problems["value_output"]
    with pytest.raises(FundInvalid) as refused:
        _fund(w, text, _configuration(n_column="indicator"))
    problems = {f.field_name: f.message for f in refused.value.findings}
    assert "is choice, the fund needs integer" in problems["n_column"]
    # … and the column n it does not name is one the table requires.
    assert "requires n, which the fund does not fill" in problems["reports_table"]
    with pytest.raises(FundInvalid, match="configuration") as refused:
        _fund(w, text, None)
    assert refused.value.findings[0].field_name == "configuration"
    assert not Fund.objects.filter(name="Another fund").exists()


def test_paid_before_must_leave_out_the_report_s_own_payment(fund_world):
    w = fund_world
    text = FUND_CONTRACT.read_text(encoding="utf-8").replace(
        "options: {statistic: sum, dated: before}", "options: {statistic: sum}"
    )
    with pytest.raises(FundInvalid) as refused:
        _fund(w, text, _configuration())
    (problem,) = refused.value.findings
    assert problem.field_name == "payments_table" and "dated: before" in problem.message
    # An input the data do not give would need a manual value: refused too.
    manual = FUND_CONTRACT.read_text(encoding="utf-8").replace(
        "    evaluate: costs_to_date\n    take: value\n", ""
    )
    with pytest.raises(FundInvalid) as refused:
        _fund(w, manual, _configuration(), name="A third fund")
    codes = {f.code for f in refused.value.findings}
    assert codes == {"manual-input", "bound-input"}


def test_the_council_of_a_constellation_shows_what_the_statement_pays(selected, client):
    w = selected
    _submit(w, *PERIODS[0], baseline=True)
    report = _submit(w, *PERIODS[1])
    statement = services.report_evaluate(report=report, actor=w.evaluator)
    identifier = w.constellation.contract.identifier
    client.force_login(w.admin)
    assert client.get(f"/contracts/{identifier}/council/").status_code == 200
    dashboard = client.get(
        f"/contracts/{identifier}/council/dashboard.json", {"as_of": PERIODS[1][1].isoformat()}
    )
    assert dashboard.status_code == 200, dashboard.content[:300]
    settlement = dashboard.json()["settlement"]
    paid = {p["id"]: p["amount_sek"] for p in statement.result["payments"]}
    assert {p["id"]: p["amount"] for p in settlement["payments"]} == paid
    assert paid == {"outcome_payment": "1400000.00"}


def test_a_report_cannot_end_on_the_day_the_payments_were_opened(selected):
    w = selected
    _submit(w, *PERIODS[0], baseline=True)
    with pytest.raises(services.ApplicationInvalid) as refused:
        _submit(w, date(2025, 7, 1), w.today, 4 * MSEK, 20, 110)
    assert {f.field_name for f in refused.value.findings} == {"period_end"}
    assert not w.constellation.reports.filter(is_baseline=False).exists()
