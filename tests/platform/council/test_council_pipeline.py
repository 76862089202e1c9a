"""The council dashboard is the settlement: for every shipped contract (each file in
examples/contracts, including ones added later), "what it would pay today" and every
figure the dashboard shows from a bound evaluation equal a settlement started on the same
tables and day (``contract_settle`` directly). No database: the tables are the synthetic
data ``utfall synth`` writes, read by the CLI's provider."""

from __future__ import annotations

from decimal import Decimal

import pyarrow.compute as pc
import pytest
from council_helpers import CONTRACTS, last_day, synthetic_data, tables_for, unbound_facts

from utfall.adapters.files import contract_read
from utfall.errors import UtfallError
from utfall.services.contracts import contract_settle
from utfall.services.council import dashboard_build, money
from utfall.services.tables import ArrowTables


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return synthetic_data(tmp_path_factory.mktemp("synth"))


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _settle(contract, tables, day, facts):
    bound = bool(contract.bound_evaluations())
    return contract_settle(
        contract,
        facts=facts,
        tables=tables if bound else None,
        until=day if bound else None,
    )


def _same_panel(panel, estimate):
    """The panel's figures are the estimate's, rounded only where shown."""
    assert panel["estimate"]["value"] == estimate.estimate
    assert panel["estimate"]["ci_low"] == estimate.ci_low
    assert panel["estimate"]["ci_high"] == estimate.ci_high
    assert panel["estimate"]["level"] == estimate.level
    extras = estimate.extras
    if panel["kind"] == "cost_trajectory":
        by_month = dict(zip(extras["months"], extras["cumulative_by_month"], strict=True))
        for row in panel["monthly"]:
            if row["cumulative"] is not None:
                assert row["cumulative"] == money(by_month[row["month"]])
        figures = panel["figures"]
        assert figures["saving_positive_from_month"] == extras["break_even_month"]
        assert figures["saving_positive_from_month_ci"] == extras["break_even_month_ci"]
    elif panel["kind"] == "expected_observed":
        monthly = extras["monthly"]
        months = [int(m) for m in monthly["month"]]
        for row in panel["monthly"]:
            i = months.index(row["month"])
            assert row["expected"] == round(monthly["expected_days_per_employee"][i], 4)
            assert row["observed"] == round(monthly["observed_days_per_employee"][i], 4)
    elif panel["kind"] == "funnel":
        assert Decimal(panel["figures"]["earned"]) == Decimal(str(extras["value_sek"]))
    elif panel["kind"] == "aggregate" and "levels" not in panel:
        shown = panel["figures"]["value"]
        value = extras["value"]
        assert shown in (value, money(value))


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_the_dashboard_is_the_settlement_on_the_same_data(path, synthetic):
    contract = contract_read(path)
    tables = tables_for(contract, synthetic)
    day = last_day(contract, tables)
    facts = unbound_facts(contract)
    dashboard = dashboard_build(contract, tables, as_of=day, facts=facts)
    settlement = dashboard["settlement"]
    unbound = [n for n, term in contract.inputs.items() if not term.evaluate]
    missing = [n for n in unbound if n not in facts.values]
    if missing:
        assert settlement["error"] == "missing_inputs"
        assert settlement["missing"] == missing
        return
    try:
        run = _settle(contract, tables, day, facts)
    except UtfallError as error:
        # The dashboard refuses exactly as the settlement does.
        assert settlement["error"] == "settle_failed"
        assert settlement["failure"]["message"] == error.message
        return
    assert settlement["error"] is None, settlement
    shown = run.settlement.to_json()
    assert settlement["inputs"] == {n: _plain(v) for n, v in shown["inputs"].items()}
    assert {o["name"]: o["value"] for o in settlement["outputs"]} == {
        n: _plain(v) for n, v in shown["outputs"].items()
    }
    assert [p["amount"] for p in settlement["payments"]] == [
        money(p["amount_sek"]) for p in shown["payments"]
    ]
    assert Decimal(settlement["total"]) == sum(
        (p.amount for p in run.settlement.payments), Decimal(0)
    )
    for panel in dashboard["panels"]:
        if not panel["paid"]:
            continue
        estimate = run.evaluations[panel["evaluation"]]
        for row in panel["bound"]:
            assert row["value"] == settlement["inputs"][row["input"]]
        if panel["status"] == "suppressed":
            continue
        assert panel["status"] == "ok", panel
        _same_panel(panel, estimate)


def _trend_adjusted(path):
    contract = contract_read(path)
    for spec in contract.evaluations.values():
        if spec.method == "trend_adjusted" and spec.options.get("trend_index"):
            return contract, spec
    return None, None


TREND_CONTRACTS = [p for p in CONTRACTS if _trend_adjusted(p)[0] is not None]


@pytest.mark.parametrize("path", TREND_CONTRACTS, ids=[p.stem for p in TREND_CONTRACTS])
def test_a_missing_trend_index_month_is_refused_as_the_settlement_refuses(path, synthetic):
    contract, spec = _trend_adjusted(path)
    tables = tables_for(contract, synthetic)
    day = last_day(contract, tables)
    index = str(spec.options["trend_index"])
    series = tables.table(index)
    declared = contract.data.table(index)
    dates = series.column(declared.date)
    gap = pc.not_equal(dates, pc.min(dates))  # the first month is gone
    data = {t.name: tables.table(t.name) for t in contract.data}
    data[index] = series.filter(gap)
    holed = ArrowTables(data, origin="the data with a month missing")
    facts = unbound_facts(contract)
    with pytest.raises(UtfallError) as refused:
        _settle(contract, holed, day, facts)
    dashboard = dashboard_build(contract, holed, as_of=day, facts=facts)
    assert dashboard["settlement"]["error"] == "settle_failed"
    assert dashboard["settlement"]["failure"]["message"] == refused.value.message
    (panel,) = [p for p in dashboard["panels"] if p["method"] == "trend_adjusted"]
    assert panel["status"] == "error"
    assert panel["error"]["message"] == refused.value.message
    assert "estimate" not in panel and "monthly" not in panel


def test_nothing_is_guessed_for_an_input_no_evaluation_gives():
    from dataclasses import replace

    # Every shipped contract binds its inputs: unbind the first input of the first one.
    shipped = next(c for c in map(contract_read, CONTRACTS) if c.inputs)
    name, term = next(iter(shipped.inputs.items()))
    contract = replace(
        shipped, inputs={**shipped.inputs, name: replace(term, evaluate=None, take=None)}
    )
    dashboard = dashboard_build(contract, None, as_of=last_day(contract, None))
    settlement = dashboard["settlement"]
    assert settlement["error"] == "missing_inputs"
    assert settlement["missing"] == [n for n, t in contract.inputs.items() if not t.evaluate]
    assert "payments" not in settlement and "total" not in settlement


def test_the_dashboard_is_plain_json(synthetic):
    import json

    for path in CONTRACTS:
        contract = contract_read(path)
        tables = tables_for(contract, synthetic)
        dashboard = dashboard_build(
            contract, tables, as_of=last_day(contract, tables), facts=unbound_facts(contract)
        )
        assert json.loads(json.dumps(dashboard)) == dashboard


def test_empty_tables_are_not_an_error_of_the_dashboard():
    contract = next(c for c in map(contract_read, CONTRACTS) if c.data)
    tables = ArrowTables({}, origin="nothing imported")
    dashboard = dashboard_build(contract, tables, as_of=last_day(contract, None))
    assert {n["code"] for n in dashboard["notes"]} >= {"tables_missing"}
    assert all(p["status"] in ("waiting", "error") for p in dashboard["panels"])
    assert dashboard["individuals"] is None or dashboard["individuals"]["rows"] == []
