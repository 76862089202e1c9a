"""Validation of contract documents: every problem, located."""

import json
import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from utfall.core.contracts import contract_json_schema, parse_contract, run_contract_tests, settle
from utfall.errors import ContractInvalid, FactsInvalid, FormulaError

MINIMAL = """\
id: tiny
title: Tiny
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: fund, name: Fund, role: financier}
parameters:
  share: {type: ratio, default: 0.5, min: 0, max: 1}
inputs:
  saved: {type: money}
  months: {type: series, of: number, length: 3}
outputs:
  paid:
    type: money
    formula: round(max(saved, 0) * share)
  monthly_total: sum(months)
payments:
  - {id: pay, from: town, to: fund, label: Pay, amount: paid}
tests:
  - name: half
    inputs: {saved: 100, months: [1, 2, 3]}
    expect: {outputs: {paid: "50.00", monthly_total: 6}, payments: {pay: 50}}
"""


def findings_of(text):
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(textwrap.dedent(text), source="c.yaml")
    return caught.value.findings


def test_minimal_contract_compiles_and_its_test_passes():
    contract = parse_contract(MINIMAL, source="c.yaml")
    assert contract.id == "tiny"
    assert contract.order == ("paid", "monthly_total") or set(contract.order) == {
        "paid",
        "monthly_total",
    }
    assert [r.passed for r in run_contract_tests(contract)] == [True]
    assert len(contract.sha256) == 64


def test_every_problem_is_reported_with_its_line():
    text = (
        MINIMAL.replace("round(max(saved, 0) * share)", "round(max(saved, 0) * shar)")
        .replace("to: fund", "to: fundd")
        .replace("monthly_total: sum(months)", "monthly_total: sum(saved)")
    )
    findings = findings_of(text)
    messages = {f.code: f for f in findings}
    assert set(messages) == {"formula", "unknown-party"}
    formula = [f for f in findings if f.code == "formula"]
    assert any("unknown name 'shar'; did you mean 'share'?" in f.message for f in formula)
    assert any("sum() needs a series" in f.message for f in formula)
    party = messages["unknown-party"]
    assert party.message == "unknown party 'fundd'; did you mean 'fund'?"
    assert party.line == 18 and party.path == "payments[0].to"


def test_schema_problems_are_located():
    text = MINIMAL.replace("role: financier", "role: banker").replace("title: Tiny\n", "")
    findings = findings_of(text)
    by_path = {f.path: f for f in findings}
    assert by_path["title"].message == "required field 'title' is missing"
    assert "Input should be 'commissioner'" in by_path["parties[1].role"].message
    assert by_path["parties[1].role"].line == 5


def test_unknown_fields_are_rejected_not_ignored():
    findings = findings_of(MINIMAL.replace("title: Tiny", "title: Tiny\ntitel: typo"))
    assert findings[0].message == "unknown field 'titel'"
    assert findings[0].line == 3


def test_cycles_are_named():
    text = MINIMAL.replace("monthly_total: sum(months)", "a: b + 1\n  b: c + 1\n  c: a + 1")
    findings = findings_of(text)
    cycle = [f for f in findings if f.code == "cycle"]
    assert len(cycle) == 1
    assert "cycle" in cycle[0].message
    for name in ("a", "b", "c"):
        assert name in cycle[0].message


def test_defaults_and_bounds_are_checked():
    findings = findings_of(MINIMAL.replace("default: 0.5", "default: 1.5"))
    assert findings[0].code == "bad-default"
    assert "1.5 is above the maximum 1" in findings[0].message
    assert findings[0].path == "parameters.share.default"


def test_declared_money_output_must_be_a_number():
    findings = findings_of(
        MINIMAL.replace(
            "monthly_total: sum(months)", "flag:\n    type: money\n    formula: saved > 0"
        )
    )
    assert findings[0].code == "output-type"
    assert "declared money but its formula gives boolean" in findings[0].message


def test_names_cannot_shadow_keywords_or_functions():
    findings = findings_of(MINIMAL.replace("monthly_total: sum(months)", "sum: saved"))
    assert any(f.code == "reserved-name" for f in findings)


def test_test_cases_must_name_known_terms():
    findings = findings_of(MINIMAL.replace("inputs: {saved: 100,", "inputs: {savd: 100,"))
    assert findings[0].message == "test 'half': unknown input 'savd'; did you mean 'saved'?"


def test_yaml_syntax_error_is_located():
    findings = findings_of("id: x\ntitle: [unclosed\n")
    assert findings[0].code == "yaml-syntax"
    assert findings[0].line is not None


def test_decimals_in_yaml_are_exact():
    contract = parse_contract(MINIMAL.replace("default: 0.5", "default: 0.1"), source="c.yaml")
    assert contract.parameters["share"].default == D("0.1")


def test_facts_must_fit_the_inputs():
    contract = parse_contract(MINIMAL, source="c.yaml")
    with pytest.raises(FactsInvalid) as caught:
        settle(contract, {"saved": 1.5, "months": [1, 2], "extra": 1})
    codes = sorted(f.code for f in caught.value.findings)
    assert codes == ["bad-input", "bad-input", "unknown-input"]
    messages = " ".join(f.message for f in caught.value.findings)
    assert "float" in messages and "expected a list of 3 values, got 2" in messages


def test_money_output_with_fractions_of_an_ore_is_an_error():
    contract = parse_contract(
        MINIMAL.replace("round(max(saved, 0) * share)", "max(saved, 0) * share"), source="c.yaml"
    )
    with pytest.raises(FormulaError, match="fractions of an öre"):
        settle(contract, {"saved": "0.01", "months": [1, 2, 3]})


def test_negative_payment_is_an_error():
    contract = parse_contract(
        MINIMAL.replace("round(max(saved, 0) * share)", "round(saved * share)"), source="c.yaml"
    )
    with pytest.raises(FormulaError, match="cannot be negative"):
        settle(contract, {"saved": "-10", "months": [1, 2, 3]})


def test_overrides_apply_to_one_run_only():
    contract = parse_contract(MINIMAL, source="c.yaml")
    facts = {"saved": 100, "months": [1, 2, 3]}
    assert settle(contract, facts, overrides={"share": "0.25"}).outputs["paid"] == D("25.00")
    assert settle(contract, facts).outputs["paid"] == D("50.00")
    assert contract.parameters["share"].default == D("0.5")


def test_explanation_tree_reaches_the_inputs():
    contract = parse_contract(MINIMAL, source="c.yaml")
    result = settle(contract, {"saved": 100, "months": [1, 2, 3]})
    tree = result.explain("pay")
    assert tree.value == D("50.00")
    (paid,) = tree.children
    assert paid.formula == "round(max(saved, 0) * share)"
    assert [c.name for c in paid.children] == ["saved", "share"]
    assert paid.children[0].origin == "facts"
    assert paid.notes == ("max(saved, 0) → saved = 100",)
    assert json.dumps(tree.as_dict())


def test_published_schema_is_current():
    path = Path(__file__).resolve().parents[3] / "docs" / "contract.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == contract_json_schema(), (
        "docs/contract.schema.json is stale: run `utfall contract schema --out docs/contract.schema.json`"
    )


def test_money_series_output_must_be_whole_ore():
    text = MINIMAL.replace(
        "monthly_total: sum(months)",
        "monthly_total: sum(months)\n  halves:\n    type: series\n    of: money\n    formula: months * 0.005",
    )
    contract = parse_contract(text, source="c.yaml")
    with pytest.raises(FormulaError, match=r"output 'halves' \(value 1\) is money but 0.005"):
        settle(contract, {"saved": 100, "months": [1, 2, 3]})


def test_exact_numbers_keep_every_digit():
    text = MINIMAL.replace(
        "monthly_total: sum(months)", "monthly_total: sum(months)\n  third: sum(months) / 7"
    )
    contract = parse_contract(text, source="c.yaml")
    result = settle(contract, {"saved": 100, "months": [1, 2, 3]})
    shown = result.to_json()["outputs"]["third"]
    assert shown.startswith("0.857142857142857142857142857142857142857142857142")
    assert len(shown) > 40
