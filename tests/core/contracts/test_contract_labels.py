"""Contracts carry their own labels in Swedish and English (issue 15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from utfall.core.contracts import contract_json_schema, parse_contract
from utfall.core.contracts.labels import declared_label, humanise
from utfall.services.labels import label, labels, role, summary

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CONTRACTS = sorted((EXAMPLES / "contracts").glob("*.yaml"))
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")

MINIMAL = """
id: c
title: T
version: "1"
parties:
  - {id: a, name: A, role: commissioner}
  - {id: b, name: B, role: financier}
inputs:
  saved: {type: money}
outputs:
  paid_sek: {type: money, formula: "max(saved, 0)"}
payments:
  - {id: pay, from: a, to: b, label: Betalning, amount: paid_sek}
tests:
  - name: nothing saved
    inputs: {saved: 0}
    expect: {payments: {pay: 0}}
"""


def _contract(path: Path):
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


def _cost_categories(path: Path) -> set[str]:
    """Every cost category a shipped contract or its finance plans name."""
    contract = _contract(path)
    document = contract.document
    names = set(document.cost_categories)
    if document.data is not None:
        for table in document.data.tables.values():
            column = table.columns.get("category")
            if column is not None and column.choices:
                names |= set(column.choices)
    for plan in (EXAMPLES / "finance").glob("*.yaml"):
        text = plan.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if contract.id.split("-")[0] in plan.name and isinstance(data, dict):
            names |= set(data.get("cost_structure") or {})
    return names


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_every_shipped_part_has_both_labels(path: Path) -> None:
    contract = _contract(path)
    document = contract.document
    missing: list[str] = []
    parts = [
        *(("output", n) for n in document.outputs),
        *(("input", n) for n in document.inputs),
        *(("payment", p.id) for p in document.payments),
        *(("test_case", t.name) for t in document.tests),
        *(("cost_category", c) for c in _cost_categories(path)),
    ]
    for kind, name in parts:
        declared = declared_label(contract, kind, name)
        if declared is None or not declared.sv.strip() or not declared.en.strip():
            missing.append(f"{kind} {name}")
        elif IDENTIFIER.search(declared.sv) or IDENTIFIER.search(declared.en):
            missing.append(f"{kind} {name}: the label looks like an identifier")
    assert not missing, f"{path.name}: parts without both labels: {missing}"
    title = declared_label(contract, "contract", "title")
    assert title is not None and title.en != title.sv, "the title needs an English label"


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_swedish_test_case_labels_differ_from_the_english_names(path: Path) -> None:
    contract = _contract(path)
    same = [
        t.name for t in contract.document.tests if label(contract, "test_case", t.name) == t.name
    ]
    assert not same, f"test cases without a Swedish label: {same}"


def test_the_declared_label_in_each_language(norrkoping) -> None:
    assert (
        label(norrkoping, "output", "invested_counted_sek", "sv") == "Investerat belopp som räknas"
    )
    assert label(norrkoping, "output", "invested_counted_sek", "en") == "Invested amount counted"
    assert label(norrkoping.document, "payment", "premium", "en") == "Premium"
    assert label(norrkoping, "payment", "repayment", "sv").startswith("Återbetalning")
    assert label(norrkoping, "party", "lsv", "sv") == "Leksell Social Ventures"
    assert label(norrkoping, "party", "tutoring", "en") == "Procured tutoring provider"
    assert label(norrkoping, "cost_category", "outpatient", "sv") == "Öppenvård"
    assert label(norrkoping, "cost_category", "salaries", "en-gb") == "Salaries"
    assert label(norrkoping, "test_case", "nothing drawn – nothing owed", "sv") == (
        "Inget avropat – inget att betala"
    )
    assert label(norrkoping, "input", "net_savings_sek", "sv") == "Utvärderad nettobesparing"
    assert label(norrkoping, "evaluation", "costs", "en").startswith("Costs against")
    assert label(norrkoping, "contract", "title", "en").startswith("Social outcome contract")
    assert labels(norrkoping, "output", ["premium_sek"], "sv") == {"premium_sek": "Premie"}


def test_a_part_without_a_label_is_humanised_never_the_identifier() -> None:
    contract = parse_contract(MINIMAL, source="c.yaml")
    assert label(contract, "output", "paid_sek", "sv") == "Paid (kr)"
    assert label(contract, "output", "paid_sek", "en") == "Paid (SEK)"
    assert label(contract, "payment", "pay", "en") == "Betalning"  # a string serves both
    assert label(contract, "test_case", "nothing saved", "sv") == "Nothing saved"
    assert label(contract, "cost_category", "salaries", "sv") == "Salaries"
    assert label(None, "output", "invested_counted_sek", "en") == "Invested counted (SEK)"
    assert label(contract, "party", "a", "en") == "A"
    assert summary(contract, "output", "paid_sek", "sv") == ""
    assert humanise("total_paid_to_financier_sek", "sv") == "Total paid to financier (kr)"
    with pytest.raises(ValueError, match="unknown kind"):
        label(contract, "outputs", "paid_sek", "sv")


def test_roles_in_words() -> None:
    assert role("commissioner", "sv") == "Beställare"
    assert role("evaluator", "en") == "Independent evaluator"
    assert role("fund_administrator", "sv") == "Fondförvaltare"


def test_old_contracts_without_labels_still_parse_and_the_payment_keeps_its_text() -> None:
    contract = parse_contract(MINIMAL, source="c.yaml")
    assert contract.payments[0].label == "Betalning"
    labelled = MINIMAL.replace("label: Betalning", "label: {sv: Betalning, en: Payment}").replace(
        "  paid_sek: {type: money,", "  paid_sek: {label: {sv: Betalt, en: Paid}, type: money,"
    )
    contract = parse_contract(labelled, source="c.yaml")
    assert contract.payments[0].label == "Betalning"
    assert label(contract, "payment", "pay", "en") == "Payment"
    assert label(contract, "output", "paid_sek", "sv") == "Betalt"


def test_a_label_must_not_be_empty() -> None:
    from utfall.errors import ContractInvalid

    with pytest.raises(ContractInvalid) as caught:
        parse_contract(MINIMAL.replace("label: Betalning", 'label: {sv: "", en: Payment}'))
    assert any(f.path == "payments[0].label.sv" for f in caught.value.findings)


def test_the_published_schema_admits_the_string_shorthand() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = contract_json_schema()
    for path in CONTRACTS:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_every_shipped_description_has_a_swedish_summary(path: Path) -> None:
    contract = _contract(path)
    document = contract.document
    missing = [
        f"{kind} {name}"
        for kind, space in (
            ("parameter", document.parameters),
            ("input", document.inputs),
            ("output", document.outputs),
        )
        for name, term in space.items()
        if term.description and not summary(contract, kind, name, "sv")
    ]
    assert missing == []
    assert summary(contract, "contract", "", "sv"), "the contract's description in Swedish"
    # the English falls back to the description, so it is never left empty
    for name, term in document.outputs.items():
        if term.description:
            assert summary(contract, "output", name, "en") == " ".join(term.description.split())
