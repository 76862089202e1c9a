"""The data declaration: compiled with every problem located, cells converted, versions checked."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from utfall.core.contracts import parse_contract
from utfall.core.contracts.data import CellError, convert_cell, declaration_changes
from utfall.errors import ContractInvalid

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"

BASE = """\
id: small
title: A small contract
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: helper, name: Helper, role: provider}
  - {id: judge, name: Judge, role: evaluator}
parameters:
  price_sek: {type: money, default: 1000}
data:
  participants:
    label: {sv: Deltagare, en: Participants}
    unit: {sv: deltagare, en: participant}
    inclusion: included_on
    group: group
    treated: treatment
    columns:
      included_on: {type: date, label: {sv: Inkluderad, en: Included}}
      group:
        type: choice
        required: false
        default: treatment
        label: Grupp
        choices: {treatment: {sv: Insats, en: Intervention}, comparison: {sv: Jämförelse, en: Comparison}}
  tables:
    visits:
      kind: records
      label: {sv: Besök, en: Visits}
      date: date
      key: [date]
      import: [provider]
      columns:
        date: {type: date, label: Datum}
        cost: {type: money, label: {sv: Kostnad, en: Cost}, min: 0}
        by: {type: reference, to: parties, role: provider, label: Utförare, required: false}
evaluations:
  cost:
    method: did
    table: visits
    outcome: cost
    post: post
inputs:
  effect: {type: number, evaluate: cost}
outputs:
  pay_sek: {type: money, formula: "round(price_sek)"}
payments:
  - {id: pay, from: town, to: helper, label: Pay, amount: pay_sek}
"""


def compile_text(text: str):
    return parse_contract(textwrap.dedent(text), source="small.yaml")


def findings(text: str) -> list[tuple[str, str | None, int | None]]:
    with pytest.raises(ContractInvalid) as caught:
        compile_text(text)
    return [(f.code, f.path, f.line) for f in caught.value.findings]


def test_a_good_declaration_compiles_with_derived_defaults():
    contract = compile_text(BASE)
    visits = contract.data.table("visits")
    assert visits.per_participant and visits.import_roles == ("provider",)
    assert visits.column("cost").places == 2
    assert visits.column("by").choice_values == ("helper",)
    assert contract.data.participants.treated == "treatment"
    spec = contract.evaluations["cost"]
    # A participant's table: the unit and the treatment default to the derived columns.
    assert (spec.unit, spec.treatment, spec.post) == ("participant", "treated", "post")
    assert contract.bound_evaluations() == {"cost": ["effect"]}


def test_every_reference_contract_declares_its_tables():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        contract = parse_contract(path.read_text(encoding="utf-8"), source=path.name)
        assert contract.data, f"{path.name} declares no data"
        for table in contract.data:
            assert table.label.sv and table.label.en, (path.name, table.name)
            for column in table.columns:
                assert column.label.sv and column.label.en, (path.name, table.name, column.name)


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (("cost: {type: money", "cost: {type: moneys"), "schema:literal_error", "type"),
        (("date: date\n      key", "date: when\n      key"), "unknown-column", "date"),
        (("key: [date]", "key: [day]"), "unknown-column", "key"),
        (("inclusion: included_on", "inclusion: group"), "not-a-date", "inclusion"),
        (("treated: treatment", "treated: treated"), "bad-treated", "treated"),
        (
            ("role: provider, label: Utförare", "role: financier, label: Utförare"),
            "no-reference-target",
            "role",
        ),
        (("        cost: {type: money", "        post: {type: money"), "reserved-column", "post"),
        (("table: visits", "table: visit"), "unknown-table", "table"),
        (("outcome: cost", "outcome: costs"), "unknown-column", "outcome"),
        (("evaluate: cost}", "evaluate: costs}"), "unknown-evaluation", "evaluate"),
        (("method: did", "method: regression"), "evaluation", "method"),
        (
            (
                "cost: {type: money, label: {sv: Kostnad, en: Cost}, min: 0}",
                "cost: {type: money, label: {sv: Kostnad, en: Cost}, min: x}",
            ),
            "bad-bound",
            "min",
        ),
    ],
)
def test_a_wrong_declaration_is_refused_with_file_line_and_field(change, code, path):
    old, new = change
    assert old in BASE
    found = findings(BASE.replace(old, new, 1))
    assert any(c == code and p is not None and path in p and line for c, p, line in found), found


def test_a_participants_table_of_records_needs_participants():
    text = BASE.replace(BASE[BASE.index("  participants:") : BASE.index("  tables:")], "")
    assert ("no-participants", "data.tables.visits.kind") in [(c, p) for c, p, _ in findings(text)]


def test_cells_convert_by_type_with_swedish_forms():
    contract = compile_text(BASE)
    visits = contract.data.table("visits")
    group = contract.data.participants.column("group")
    cost = visits.column("cost")
    assert convert_cell(cost, "1 234,50", decimal_comma=True) == Decimal("1234.50")
    assert convert_cell(cost, 12.5, decimal_comma=False) == Decimal("12.50")
    assert convert_cell(visits.column("date"), "2021-03", decimal_comma=False) == dt.date(
        2021, 3, 1
    )
    # A choice accepts its value or either label.
    assert convert_cell(group, "Jämförelse", decimal_comma=False) == "comparison"
    assert convert_cell(group, "", decimal_comma=False) == "treatment"  # the default
    with pytest.raises(CellError, match="öre"):
        convert_cell(cost, "1.234", decimal_comma=False)
    with pytest.raises(CellError, match="less than 0"):
        convert_cell(cost, "-1", decimal_comma=False)
    with pytest.raises(CellError, match="not one of: helper"):
        convert_cell(visits.column("by"), "judge", decimal_comma=False)
    with pytest.raises(CellError, match="not a date that exists"):
        convert_cell(visits.column("date"), "2021-02-30", decimal_comma=False)


def _changes(new_text: str, stored: dict[str, int]):
    old = compile_text(BASE)
    new = compile_text(new_text)
    assert new.yaml is not None
    return [(f.code, f.path) for f in declaration_changes(old.data, new.data, stored, new.yaml)]


def test_a_new_version_keeps_stored_rows_readable():
    stored = {"participants": 10, "visits": 30}
    optional = BASE.replace(
        "        by: {type: reference",
        "        note: {type: text, label: Not, required: false}\n        by: {type: reference",
    )
    assert _changes(optional, stored) == []
    renamed = BASE.replace(
        "        cost: {type: money, label:",
        "        price: {type: money, renamed_from: cost, label:",
    ).replace("outcome: cost", "outcome: price")
    assert _changes(renamed, stored) == []
    removed = BASE.replace(
        "        cost: {type: money, label: {sv: Kostnad, en: Cost}, min: 0}\n", ""
    ).replace("    outcome: cost\n", "    outcome: post\n")
    assert ("column-removed", "data.tables.visits.columns") in _changes(removed, stored)
    retyped = BASE.replace("cost: {type: money", "cost: {type: text").replace(", min: 0}", "}")
    assert ("column-retyped", "data.tables.visits.columns.cost.type") in _changes(retyped, stored)
    required = BASE.replace(
        "        by: {type: reference",
        "        note: {type: text, label: Not}\n        by: {type: reference",
    )
    assert ("new-required-column", "data.tables.visits.columns.note") in _changes(required, stored)
    # Without stored rows anything may change.
    assert _changes(retyped, {}) == []
