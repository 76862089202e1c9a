"""Tables in canonical form, their digest, the data as of a day, and an evaluation's frame."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal

import pyarrow as pa
import pytest

from utfall.core.contracts import parse_contract
from utfall.errors import DataInvalid
from utfall.services.aggregate import run_aggregate
from utfall.services.evaluation import EvaluationContext
from utfall.services.frames import evaluation_frame, series_frame
from utfall.services.tables import ArrowTables, as_of, canonical_schema, conform, table_digest

CONTRACT = textwrap.dedent(
    """\
    id: frames
    title: Frames
    version: "1"
    parties:
      - {id: town, name: Town, role: commissioner}
      - {id: a, name: A, role: provider}
      - {id: b, name: B, role: provider}
    periods:
      reference: {start: 2020-01-01, end: 2020-03-31}
      contract: {start: 2021-01-01, end: 2021-03-31}
    data:
      participants:
        label: Deltagare
        unit: deltagare
        inclusion: included_on
        end: left_on
        group: group
        treated: treatment
        columns:
          included_on: {type: date, label: Inkluderad}
          left_on: {type: date, label: Slutade, required: false}
          group: {type: choice, label: Grupp, required: false, default: treatment,
                  choices: [treatment, comparison]}
          band: {type: text, label: Band, required: false}
      tables:
        costs:
          kind: records
          label: Kostnader
          date: date
          key: [date, kind]
          columns:
            date: {type: date, label: Datum}
            kind: {type: choice, label: Slag, choices: [care, travel]}
            amount: {type: money, label: Belopp}
        index:
          kind: series
          label: Index
          date: month
          columns:
            month: {type: date, label: Månad}
            value: {type: decimal, label: Värde}
        reports:
          kind: series
          label: Rapporter
          date: day
          columns:
            day: {type: date, label: Dag}
            actor: {type: reference, to: parties, role: provider, label: Aktör}
            done: {type: integer, label: Gjort}
            agreed: {type: integer, label: Avtalat}
    evaluations:
      monthly:
        method: did
        table: costs
        outcome: amount
        per: month
        post: post
      by_period:
        method: did
        table: costs
        outcome: amount
        per: month
        span: membership
        periods: [reference, contract]
        post: post
      rows:
        method: did
        table: costs
        where: {kind: care}
        outcome: amount
        post: post
      share:
        method: aggregate
        table: reports
        outcome: done
        options: {statistic: ratio, denominator: agreed, by: actor, levels_from: parties,
                  role: provider}
      spent:
        method: aggregate
        table: costs
        outcome: amount
        where: {kind: travel}
    """
)


@pytest.fixture
def contract():
    return parse_contract(CONTRACT, source="frames.yaml")


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture
def tables(contract):
    declared = contract.data
    participants = conform(
        pa.table(
            {
                "participant": ["p1", "p2", "p3"],
                "included_on": ["2020-01-15", "2020-02-01", "2020-01-01"],
                "left_on": [None, "2021-02-10", None],
                "group": ["treatment", "treatment", "comparison"],
                "band": ["x", "y", "x"],
            }
        ),
        declared.participants,
        where="participants.csv",
    )
    costs = conform(
        pa.table(
            {
                "participant": ["p1", "p1", "p1", "p2", "p3", "p3"],
                "date": [
                    "2020-01-20",
                    "2020-03-05",
                    "2020-03-09",
                    "2021-01-10",
                    "2020-01-02",
                    "2021-03-01",
                ],
                "kind": ["care", "care", "travel", "care", "care", "travel"],
                "amount": ["10.50", "4.00", "1.25", "7.00", "3.00", "2.00"],
            }
        ),
        declared.table("costs"),
        where="costs.csv",
    )
    index = conform(
        pa.table({"month": ["2020-01-01", "2020-02-01", "2021-01-01"], "value": ["1", "2", "3"]}),
        declared.table("index"),
        where="index.csv",
    )
    reports = conform(
        pa.table(
            {
                "day": ["2021-06-30", "2021-06-30", "2021-12-31"],
                "actor": ["a", "b", "a"],
                "done": ["9", "3", "10"],
                "agreed": ["10", "4", "10"],
            }
        ),
        declared.table("reports"),
        where="reports.csv",
    )
    return ArrowTables(
        {"participants": participants, "costs": costs, "index": index, "reports": reports}
    )


def test_conform_gives_the_canonical_exact_types(contract, tables):
    costs = tables.table("costs")
    assert costs.schema == canonical_schema(contract.data.table("costs"))
    assert costs.schema.field("amount").type == pa.decimal128(18, 2)
    assert costs.column("amount")[0].as_py() == Decimal("10.50")
    assert tables.table("participants").column("group").to_pylist()[2] == "comparison"


def test_conform_names_every_bad_cell_with_row_and_column(contract):
    with pytest.raises(DataInvalid) as caught:
        conform(
            pa.table(
                {
                    "participant": ["p1", "p2", ""],
                    "date": ["2020-01-01", "2020-13-01", "2020-01-02"],
                    "kind": ["care", "food", "care"],
                    "amount": ["1.00", "2", "3.999"],
                    "colour": ["red", "red", "red"],
                }
            ),
            contract.data.table("costs"),
            where="costs.csv",
        )
    found = {(f.code, f.row, f.field_name) for f in caught.value.findings}
    assert ("unknown-column", None, "colour") in found
    assert ("invalid-date", 3, "date") in found  # data row 2 is line 3 under the header
    assert ("invalid-choice", 3, "kind") in found
    assert ("invalid-money", 4, "amount") in found
    assert ("missing-participant", 4, "participant") in found
    assert all(f.file == "costs.csv" for f in caught.value.findings)


def test_the_digest_is_the_rows_not_their_order(tables):
    costs = tables.table("costs")
    shuffled = costs.take([5, 3, 1, 0, 2, 4])
    assert table_digest(shuffled) == table_digest(costs)
    changed = costs.set_column(
        3,
        "amount",
        pa.array([Decimal("10.51"), *costs["amount"].to_pylist()[1:]], pa.decimal128(18, 2)),
    )
    assert table_digest(changed) != table_digest(costs)


def test_as_of_leaves_out_later_rows_and_later_end_dates(contract, tables):
    known = as_of(tables, contract.data, _d("2020-12-31"), ["participants", "costs"])
    assert known.table("costs").num_rows == 4
    assert known.table("participants").column("left_on").to_pylist() == [None, None, None]


def test_a_frame_joins_the_participants_and_adds_the_derived_columns(contract, tables):
    frame = evaluation_frame(contract.evaluations["rows"], tables, contract.data, contract.periods)
    rows = frame.to_pylist()
    assert [r["participant"] for r in rows] == ["p1", "p1", "p2", "p3"]  # where: kind = care
    first = rows[0]
    assert first["treated"] == 1 and first["band"] == "x" and first["amount"] == 10.5
    assert first["months_since_inclusion"] == 0 and first["post"] == 1  # after 2020-01-15
    assert rows[3]["treated"] == 0 and rows[3]["post"] == 1


def test_per_month_fills_the_months_between_with_zero(contract, tables):
    frame = evaluation_frame(
        contract.evaluations["monthly"], tables, contract.data, contract.periods
    )
    p1 = [r for r in frame.to_pylist() if r["participant"] == "p1"]
    # 2020-01: 10.50; 2020-02: nothing (0); 2020-03: 4.00 + 1.25.
    assert [(r["month"].isoformat(), r["amount"]) for r in p1] == [
        ("2020-01-01", 10.5),
        ("2020-02-01", 0.0),
        ("2020-03-01", 5.25),
    ]
    assert [r["months_since_inclusion"] for r in p1] == [0, 1, 2]


def test_membership_over_periods_counts_from_inclusion_to_leaving(contract, tables):
    frame = evaluation_frame(
        contract.evaluations["by_period"], tables, contract.data, contract.periods
    )
    months = {
        person: [
            (r["period"], r["period_month"])
            for r in frame.to_pylist()
            if r["participant"] == person
        ]
        for person in ("p1", "p2", "p3")
    }
    everything = [
        ("reference", 1),
        ("reference", 2),
        ("reference", 3),
        ("contract", 1),
        ("contract", 2),
        ("contract", 3),
    ]
    assert months["p1"] == everything
    assert months["p3"] == everything
    # p2: included in February 2020, left in February 2021.
    assert months["p2"] == [("reference", 2), ("reference", 3), ("contract", 1), ("contract", 2)]
    until = evaluation_frame(
        contract.evaluations["by_period"],
        tables,
        contract.data,
        contract.periods,
        until=_d("2021-01-31"),
    )
    assert max(r["period_month"] for r in until.to_pylist() if r["period"] == "contract") == 1


def test_a_series_is_numbered_within_the_periods(contract, tables):
    frame = series_frame(
        "index", tables, contract.data, contract.periods, ["reference", "contract"]
    )
    assert [(r["period"], r["period_month"], r["value"]) for r in frame.to_pylist()] == [
        ("reference", 1, 1.0),
        ("reference", 2, 2.0),
        ("contract", 1, 3.0),
    ]


def test_aggregates_are_exact_and_follow_the_parties_order(contract, tables):
    context = EvaluationContext(declaration=contract.data, parties=contract.parties)
    share = run_aggregate(contract.evaluations["share"], tables, context)
    assert share.extras["value"] == ["0.95", "0.75"]  # a: 19 of 20, b: 3 of 4
    assert share.extras["levels"] == ["a", "b"]
    spent = run_aggregate(contract.evaluations["spent"], tables, context)
    assert spent.extras["value"] == "3.25"
