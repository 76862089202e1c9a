"""Evaluations, tables and columns describe themselves in Swedish and English (issue 15,
decision 0850); the reference contracts do so for every part they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from utfall.core.contracts import parse_contract
from utfall.core.contracts.labels import declared_summary

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"
CONTRACTS = sorted(EXAMPLES.glob("*.yaml"))

DOCUMENT = """
id: c
title: T
version: "1"
parties:
  - {id: a, name: A, role: commissioner}
data:
  participants:
    label: {sv: Deltagare, en: Participants}
    unit: {sv: deltagare, en: participant}
    description: People in the programme.
    summary: {sv: Personer i programmet.}
    inclusion: included_on
    columns:
      included_on:
        type: date
        label: {sv: Inkluderad, en: Included}
        description: The day of inclusion.
        summary: Inkluderingsdagen.
  tables:
    costs:
      kind: series
      label: {sv: Kostnader, en: Costs}
      description: Costs by month.
      summary: {sv: Kostnader per månad., en: Monthly costs.}
      date: month
      columns:
        month: {type: date, label: {sv: Månad, en: Month}}
        amount: {type: money, label: {sv: Belopp, en: Amount}}
evaluations:
  total:
    table: costs
    method: aggregate
    outcome: amount
    description: The costs to date.
    summary: {sv: Kostnaderna hittills.}
"""


def test_tables_columns_and_evaluations_carry_both_languages():
    contract = parse_contract(DOCUMENT, source="c.yaml")
    participants = contract.data.table("participants")
    assert participants.summary.text("sv") == "Personer i programmet."
    assert participants.summary.text("en") == "People in the programme."  # description
    assert participants.column("included_on").summary.text("sv") == "Inkluderingsdagen."
    costs = contract.data.table("costs")
    assert (costs.summary.text("sv"), costs.summary.text("en")) == (
        "Kostnader per månad.",
        "Monthly costs.",
    )
    assert costs.column("amount").summary is None
    assert declared_summary(contract, "evaluation", "total").text("sv") == "Kostnaderna hittills."
    assert declared_summary(contract, "evaluation", "total").text("en") == "The costs to date."
    assert declared_summary(contract, "table", "costs").text("en") == "Monthly costs."
    assert declared_summary(contract, "table", "participants").text("sv").startswith("Personer")


def test_the_summary_is_not_an_option_of_the_evaluation():
    """``summary`` is text for people: the evaluation's spec (and its fingerprint) ignore it."""
    with_summary = parse_contract(DOCUMENT, source="c.yaml")
    without = parse_contract(
        DOCUMENT.replace("    summary: {sv: Kostnaderna hittills.}\n", ""), source="c.yaml"
    )
    assert with_summary.evaluations["total"] == without.evaluations["total"]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_every_described_part_of_a_reference_contract_has_swedish(path):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    parts = []
    for name, evaluation in (document.get("evaluations") or {}).items():
        parts.append((f"evaluations.{name}", evaluation))
    data = document.get("data") or {}
    tables = dict(data.get("tables") or {})
    if data.get("participants"):
        tables["participants"] = data["participants"]
    for name, table in tables.items():
        parts.append((f"tables.{name}", table))
        for column_name, column in (table.get("columns") or {}).items():
            parts.append((f"tables.{name}.{column_name}", column))
    missing = [
        where for where, part in parts if part.get("description") and not part.get("summary")
    ]
    assert not missing, f"{path.name}: described without a Swedish summary: {missing}"


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_no_reference_contract_text_shows_a_symbol_for_a_word(path):
    """The texts pages show (summaries, sources) write SLT_i, S_e … in words."""
    contract = parse_contract(path.read_text(encoding="utf-8"), source=path.name)
    document = contract.document
    texts = [p.source or "" for p in document.parameters.values()]
    texts += [p.source or "" for p in document.inputs.values()]
    for kind, names in (
        ("parameter", document.parameters),
        ("input", document.inputs),
        ("output", document.outputs),
        ("evaluation", document.evaluations),
    ):
        for name in names:
            declared = declared_summary(contract, kind, name)
            if declared is not None:
                texts += [declared.sv, declared.en]
    symbols = [t for t in texts if re.search(r"\b[A-Za-z]+_[A-Za-z0-9]+\b", t)]
    assert not symbols
