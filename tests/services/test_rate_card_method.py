"""The ``rate_card`` method through the services, on a contract nobody's code knows.

A small housing programme paying per household outcome is written here; its tables
are Arrow in memory (``ArrowTables``), conformed to its declaration as any provider
hands them out. The figure goes through ``contract_settle``, the one pipeline.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from utfall.core.contracts import parse_contract
from utfall.errors import ContractInvalid, DataInvalid, SpecInvalid
from utfall.services.contracts import contract_settle
from utfall.services.evaluation import EvaluationContext, evaluate
from utfall.services.rate_card import rate_card_detail
from utfall.services.tables import ArrowTables, conform

CONTRACT = """
id: housing-outcomes
title: Bostad först – utfall per hushåll
version: "1"
parties:
  - {id: city, name: Staden, role: commissioner}
  - {id: fund, name: Fonden, role: financier}
  - {id: eval, name: Utvärderaren, role: evaluator}
periods:
  term: {start: 2024-01-01, end: 2024-12-31}
parameters:
  housed_sek: {type: money, default: 1000, min: 0}
  housed_priority_sek: {type: money, default: 1500, min: 0}
  stable_sek: {type: money, default: 2000, min: 0}
  household_cap_sek: {type: money, default: 100000, min: 0}
  stable_cap_sek: {type: money, default: 100000, min: 0}
  cap_sek: {type: money, default: 100000, min: 0}
data:
  participants:
    label: {sv: Hushåll, en: Households}
    unit: {sv: hushåll, en: household}
    inclusion: joined_on
    end: left_on
    group: arm
    treated: programme
    subgroups: [district]
    columns:
      joined_on: {type: date, label: {sv: Inskriven, en: Joined}}
      left_on: {type: date, required: false, label: {sv: Avslutad, en: Left}}
      arm:
        type: choice
        required: false
        default: programme
        label: {sv: Grupp, en: Arm}
        choices: {programme: Programmet, comparison: Jämförelse}
      district: {type: text, required: false, default: "", label: {sv: Stadsdel, en: District}}
      priority:
        type: choice
        required: false
        default: ordinary
        label: {sv: Prioritet, en: Priority}
        choices: {ordinary: Ordinär, priority: Prioriterad}
  tables:
    milestones:
      kind: events
      label: {sv: Milstolpar, en: Milestones}
      date: reached_on
      columns:
        milestone:
          type: choice
          label: {sv: Milstolpe, en: Milestone}
          choices: {housed: Inflyttad, stable: Kvar efter ett halvår, visit: Hembesök}
        reached_on: {type: date, label: {sv: Datum, en: Date}}
        proof: {type: text, required: false, label: {sv: Underlag, en: Proof}}
evaluations:
  paid:
    method: rate_card
    table: milestones
    subgroup: district
    options:
      outcome_column: milestone
      evidence_column: proof
      period: term
      window_months: 9
      price_group: priority
      cap_per_participant: household_cap_sek
      cap_total: cap_sek
      outcomes:
        housed: {price: housed_sek, prices_by_group: {priority: housed_priority_sek}}
        stable: {price: stable_sek, requires: housed, cap: stable_cap_sek}
inputs:
  earned_sek: {type: money, min: 0, evaluate: paid, take: value_sek}
  stable_households: {type: count, evaluate: paid, take: counts.stable}
outputs:
  due_sek: {type: money, formula: earned_sek}
payments:
  - {id: outcomes, from: city, to: fund, label: Utfall, amount: due_sek}
"""

PEOPLE = [
    ("H-01", "2024-01-10", None, "programme", "north", "ordinary"),
    ("H-02", "2024-02-01", "2024-05-31", "programme", "north", "priority"),
    ("H-03", "2024-03-01", None, "comparison", "south", "ordinary"),
    ("H-04", "2024-04-15", None, "programme", "south", "priority"),
]
EVENTS = [
    ("H-01", "housed", "2024-01-20", "lease"),
    ("H-01", "stable", "2024-07-20", "lease"),
    ("H-01", "housed", "2024-08-01", "lease"),  # duplicate
    ("H-02", "stable", "2024-03-01", "lease"),  # before its prerequisite
    ("H-02", "housed", "2024-03-15", "lease"),
    ("H-02", "stable", "2024-06-15", "lease"),  # after leaving
    ("H-03", "housed", "2024-04-01", "lease"),  # comparison group
    ("H-04", "housed", "2024-05-01", None),
    ("H-04", "stable", "2025-01-10", "lease"),  # inside the window, outside the period
    ("H-04", "visit", "2024-05-02", "note"),  # unpriced
    ("H-09", "housed", "2024-05-01", "lease"),  # not a participant
]


def contract(text: str = CONTRACT):
    return parse_contract(text, source="housing.yaml")


def tables(contract_, people=PEOPLE, events=EVENTS) -> ArrowTables:
    declaration = contract_.data
    raw_people = pa.table(
        {
            "participant": [p[0] for p in people],
            "joined_on": [p[1] for p in people],
            "left_on": [p[2] for p in people],
            "arm": [p[3] for p in people],
            "district": [p[4] for p in people],
            "priority": [p[5] for p in people],
        }
    )
    raw_events = pa.table(
        {
            "participant": [e[0] for e in events],
            "milestone": [e[1] for e in events],
            "reached_on": [e[2] for e in events],
            "proof": [e[3] for e in events],
        },
        schema=pa.schema(
            [(n, pa.string()) for n in ("participant", "milestone", "reached_on", "proof")]
        ),
    )
    return ArrowTables(
        {
            "participants": conform(raw_people, declaration.participants, where="people"),
            "milestones": conform(raw_events, declaration.table("milestones"), where="events"),
        }
    )


def context(contract_, **parameters) -> EvaluationContext:
    values = {n: p.default for n, p in contract_.parameters.items()}
    values.update({k: Decimal(str(v)) for k, v in parameters.items()})
    return EvaluationContext(
        declaration=contract_.data, periods=contract_.periods, parameters=values
    )


def test_the_figure_and_its_aggregates():
    c = contract()
    estimate = evaluate(c.evaluations["paid"], tables(c), context(c))
    extras = estimate.extras
    # H-01: housed 1000 + stable 2000; H-02 and H-04: housed at the priority price 1500.
    assert extras["value_sek"] == "6000.00"
    assert estimate.estimate == 6000.0
    assert extras["counts"] == {"housed": 3, "stable": 1}
    assert extras["values_sek"] == {"housed": "4000.00", "stable": "2000.00"}
    assert extras["participants_paid"] == 3
    assert extras["participants_included"] == 3
    assert extras["events"] == len(EVENTS)
    assert {k: v for k, v in extras["uncounted"].items() if v} == {
        "duplicate": 1,
        "before_prerequisite": 1,
        "after_leaving": 1,
        "comparison_group": 1,
        "outside_period": 1,
        "unpriced": 1,
        "not_a_participant": 1,
    }
    assert sum(extras["uncounted"].values()) + sum(extras["counts"].values()) == len(EVENTS)
    assert extras["cap_total_sek"] == "100000.00"
    # One estimate per district, adding up to the whole.
    assert [s.label for s in estimate.subgroups] == ["north", "south"]
    assert [s.extras["value_sek"] for s in estimate.subgroups] == ["4500.00", "1500.00"]
    assert estimate.subgroups[1].extras["participants_included"] == 1


def test_the_reasons_are_the_first_rule_each_event_fails():
    c = contract()
    detail = rate_card_detail(c.evaluations["paid"], tables(c), context(c))
    reasons = {
        (r["participant"], r["outcome"], r["achieved_on"].isoformat()): r["reason"]
        for r in detail.uncounted.to_pylist()
    }
    assert reasons == {
        ("H-01", "housed", "2024-08-01"): "duplicate",
        ("H-02", "stable", "2024-03-01"): "before_prerequisite",
        ("H-02", "stable", "2024-06-15"): "after_leaving",
        ("H-03", "housed", "2024-04-01"): "comparison_group",
        ("H-04", "stable", "2025-01-10"): "outside_period",
        ("H-04", "visit", "2024-05-02"): "unpriced",
        ("H-09", "housed", "2024-05-01"): "not_a_participant",
    }


def test_the_detail_adds_up_to_the_figure_and_holds_pseudonyms_only():
    c = contract()
    detail = rate_card_detail(c.evaluations["paid"], tables(c), context(c))
    counted = detail.counted
    assert counted.column_names == [
        "participant",
        "outcome",
        "achieved_on",
        "evidence",
        "price_sek",
        "paid_sek",
        "capped_by",
    ]
    assert counted.schema.field("paid_sek").type == pa.decimal128(18, 2)
    assert sum(counted.column("paid_sek").to_pylist()) == Decimal("6000.00")
    assert counted.column("participant").to_pylist() == ["H-01", "H-02", "H-04", "H-01"]
    assert detail.uncounted.column_names == [
        "participant",
        "outcome",
        "achieved_on",
        "evidence",
        "reason",
        "price_sek",
    ]
    assert detail.counted.num_rows + detail.uncounted.num_rows == len(EVENTS)


def test_caps_cut_in_date_order_and_say_so():
    c = contract()
    ctx = context(c, cap_sek=2000, household_cap_sek=2500)
    estimate = evaluate(c.evaluations["paid"], tables(c), ctx)
    # H-01 housed 1000 (January), H-02 housed 1000 of its 1500 (March: the total cap is
    # reached), H-04 housed (May) and H-01 stable (July, cut to 1500 by its household cap
    # first): no room left.
    assert estimate.extras["value_sek"] == "2000.00"
    assert estimate.extras["value_before_caps_sek"] == "6000.00"
    assert estimate.extras["uncounted"]["over_total_cap"] == 2
    detail = rate_card_detail(c.evaluations["paid"], tables(c), ctx)
    assert detail.counted.column("capped_by").to_pylist() == [None, "total"]
    over = {
        r["participant"]: r["price_sek"]
        for r in detail.uncounted.to_pylist()
        if r["reason"] == "over_total_cap"
    }
    assert over == {"H-04": Decimal("1500.00"), "H-01": Decimal("2000.00")}


def test_the_settlement_explains_the_figure_with_counts_prices_and_reasons():
    c = contract()
    run = contract_settle(c, tables=tables(c))
    assert run.settlement.inputs["earned_sek"] == Decimal("6000.00")
    assert run.settlement.inputs["stable_households"] == 1
    text = str(run.settlement.explain("earned_sek").as_dict())
    assert "outcomes_paid" in text and "events_not_paid" in text
    assert "1000.00 (priority priority: 1500.00)" in text
    assert set(run.digests) == {"participants", "milestones"}


def test_a_what_if_price_reprices_the_data():
    c = contract()
    run = contract_settle(c, tables=tables(c), overrides={"stable_sek": "3000"})
    assert run.settlement.inputs["earned_sek"] == Decimal("7000.00")


def test_the_data_as_of_a_day():
    c = contract()
    run = contract_settle(c, tables=tables(c), until=dt.date(2024, 4, 30))
    # Known on 30 April: H-01 and H-02 housed; H-02's end date (31 May) not yet.
    assert run.settlement.inputs["earned_sek"] == Decimal("2500.00")
    funnel = run.evaluations["paid"].extras["funnel"]
    assert funnel["month"][-1] == "2024-04-01"
    assert funnel["included"][-1] == 3
    assert funnel["outcomes"]["housed"][-1] == 2
    assert funnel["earned_sek"][-1] == "2500.00"


def test_no_events_pays_nothing():
    c = contract()
    estimate = evaluate(c.evaluations["paid"], tables(c, events=[]), context(c))
    assert estimate.extras["value_sek"] == "0.00"
    assert estimate.extras["counts"] == {"housed": 0, "stable": 0}


def test_a_participant_listed_twice_is_refused_by_name():
    c = contract()
    with pytest.raises(DataInvalid) as caught:
        evaluate(c.evaluations["paid"], tables(c, people=[*PEOPLE, PEOPLE[0]]), context(c))
    assert "H-01" in str(caught.value.findings[0])


def test_a_negative_what_if_price_is_refused():
    c = contract()
    with pytest.raises(SpecInvalid, match="negative"):
        evaluate(c.evaluations["paid"], tables(c), context(c, housed_sek=-1))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "stable: {price: stable_sek, requires: housed",
            "stable: {price: stable_sek, requires: moved",
            "requires 'moved'",
        ),
        ("housed: {price: housed_sek,", "rented: {price: housed_sek,", "'rented' is not a value"),
        ("cap_total: cap_sek", "cap_total: window", "'window' is not a money parameter"),
        ("price_group: priority", "price_group: tenure", "no column 'tenure'"),
        ("{priority: housed_priority_sek}", "{urgent: housed_priority_sek}", "no value 'urgent'"),
        ("subgroup: district", "subgroup: proof", "subgroup"),
        ("period: term", "period: contract", "no period 'contract'"),
        (
            "housed_sek: {type: money, default: 1000, min: 0}",
            "housed_sek: {type: money, default: -5}",
            "may not be negative",
        ),
    ],
)
def test_a_wrong_rate_card_is_refused_at_upload_with_its_place(old, new, message):
    assert old in CONTRACT
    text = CONTRACT.replace(old, new)
    with pytest.raises(ContractInvalid) as caught:
        contract(text)
    assert any(message in f.message for f in caught.value.findings), caught.value.findings
    assert all(f.line for f in caught.value.findings)


def test_require_evidence_needs_an_evidence_column():
    text = CONTRACT.replace(
        "      evidence_column: proof\n",
        "      evidence_column: null\n      require_evidence: true\n",
    )
    with pytest.raises(ContractInvalid) as caught:
        contract(text)
    assert any("require_evidence" in f.message for f in caught.value.findings)
