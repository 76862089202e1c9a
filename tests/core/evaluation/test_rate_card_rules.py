"""The rate card's terms and rules, case by case (core, no tables).

The builders at the top (a card from options, arrays from rows) serve the property
tests too (``test_rate_card_properties.py``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.core.evaluation.rate_card import (
    NO_DAY,
    REASON_LABELS,
    REASONS,
    Events,
    Participants,
    RateCardTerms,
    add_months,
    count_events,
    funnel,
    ore,
    rate_card_terms,
    sek_text,
    summary,
)
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.errors import SpecInvalid

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date


def day(text: str) -> int:
    """An ISO date as a day number."""
    return (dt.date.fromisoformat(text) - EPOCH).days


def card(
    outcomes: dict[str, dict[str, Any]],
    prices: dict[str, Any],
    *,
    periods: dict[str, Period] | None = None,
    **options: Any,
) -> RateCardTerms:
    """A rate card of ``outcomes`` (name → outcome options) priced by ``prices``."""
    spec = EvaluationSpec(
        method="rate_card", data="events", options={"outcomes": outcomes, **options}
    )
    parameters = {name: Decimal(str(value)) for name, value in prices.items()}
    return rate_card_terms(spec, parameters, periods or {})


def participants(rows: list[dict[str, Any]], groups: tuple[str, ...] = ()) -> Participants:
    """Rows with ``id``, ``included`` (ISO or day number), optional ``left``, ``treated``,
    ``group`` (a price group value)."""

    def number(value: Any) -> int:
        return day(value) if isinstance(value, str) else int(value)

    names = [str(r["id"]) for r in rows]
    return Participants(
        inclusion=np.array([number(r["included"]) for r in rows], dtype=np.int64),
        end=np.array(
            [number(r["left"]) if r.get("left") is not None else NO_DAY for r in rows],
            dtype=np.int64,
        ),
        treated=np.array([r.get("treated", True) for r in rows], dtype=np.bool_),
        group=np.array(
            [groups.index(r["group"]) if r.get("group") in groups else -1 for r in rows],
            dtype=np.int64,
        ),
        pseudonym=lambda index: names[index],
    )


def events(
    rows: list[dict[str, Any]], terms: RateCardTerms, people: list[dict[str, Any]]
) -> Events:
    """Rows with ``who`` (a participant id), ``outcome``, ``on`` (ISO or day number) and
    optional ``evidence``."""
    ids = [str(p["id"]) for p in people]
    evidence = [r.get("evidence") for r in rows]
    return Events(
        participant=np.array(
            [ids.index(r["who"]) if r["who"] in ids else -1 for r in rows], dtype=np.int64
        ),
        outcome=np.array(
            [terms.names.index(r["outcome"]) if r["outcome"] in terms.names else -1 for r in rows],
            dtype=np.int64,
        ),
        day=np.array(
            [day(r["on"]) if isinstance(r["on"], str) else int(r["on"]) for r in rows],
            dtype=np.int64,
        ),
        no_evidence=np.array([not (e or "").strip() for e in evidence], dtype=np.bool_),
        evidence=lambda index: evidence[index],
    )


CHAIN = {
    "start": {"price": "p_start"},
    "weeks_13": {"price": "p_13", "requires": "start"},
    "weeks_26": {"price": "p_26", "requires": "weeks_13"},
}
PRICES = {"p_start": 1000, "p_13": 2000, "p_26": 3000}
ALICE = {"id": "A", "included": "2024-01-15"}
BOB = {"id": "B", "included": "2024-03-01"}


def run(terms, people, rows):
    people_arrays = participants(people, terms.groups)
    event_arrays = events(rows, terms, people)
    count = count_events(terms, people_arrays, event_arrays)
    return count, summary(terms, people_arrays, event_arrays, count)


def reasons(count):
    return [None if r == 0 else REASONS[r - 1] for r in count.reason]


# --- terms -----------------------------------------------------------------------


def test_terms_are_whole_ore_in_the_cards_order():
    terms = card(CHAIN, {**PRICES, "p_start": "1234.5"}, cap_total="p_26")
    assert terms.names == ("start", "weeks_13", "weeks_26")
    assert terms.outcome("start").price_ore == 123450
    assert terms.cap_total_ore == 300000
    assert [o.name for o in terms.prerequisite_order()] == ["start", "weeks_13", "weeks_26"]


def test_a_window_of_the_card_applies_to_outcomes_without_their_own():
    terms = card(
        {"a": {"price": "p_start", "window_months": 6}, "b": {"price": "p_13"}},
        PRICES,
        window_months=12,
    )
    assert terms.outcome("a").window_months == 6
    assert terms.outcome("b").window_months == 12


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"p_13": 1, "p_26": 1}, "no parameter 'p_start'"),
        ({**PRICES, "p_start": "10.005"}, "not a whole number of öre"),
        ({**PRICES, "p_start": "-1"}, "negative"),
    ],
)
def test_a_price_that_is_not_money_is_refused(prices, message):
    with pytest.raises(SpecInvalid, match=message):
        card(CHAIN, prices)


def test_an_unknown_period_and_group_prices_without_a_group_are_refused():
    with pytest.raises(SpecInvalid, match="no period 'contract'"):
        card(CHAIN, PRICES, period="contract")
    with pytest.raises(SpecInvalid, match="price_group"):
        card({"start": {"price": "p_start", "prices_by_group": {"high": "p_13"}}}, PRICES)


def test_ore_and_sek_round_trip_exactly():
    assert ore(Decimal("0.01"), "x") == 1
    assert sek_text(123456789) == "1234567.89"
    assert sek_text(0) == "0.00"
    with pytest.raises(SpecInvalid):
        ore(True, "x")


def test_every_reason_has_a_label_in_swedish_and_english():
    assert set(REASON_LABELS) == set(REASONS)
    assert all(sv and en and sv != en for sv, en in REASON_LABELS.values())


# --- calendar ----------------------------------------------------------------------


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.integers(min_value=-36, max_value=120),
)
def test_add_months_is_the_calendars(date, months):
    total = date.year * 12 + date.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    expected = dt.date(year, month, min(date.day, calendar.monthrange(year, month)[1]))
    number = (date - dt.date(1970, 1, 1)).days
    assert (
        int(add_months(np.array([number], dtype=np.int64), months)[0])
        == (expected - dt.date(1970, 1, 1)).days
    )


def test_the_lookup_table_gives_the_same_months_as_the_arithmetic():
    from utfall.core.evaluation import rate_card as core

    days = np.random.default_rng(3).integers(19000, 21000, 5000)
    for months in (1, 18, 25):
        assert (core.add_months(days, months) == core._add_months(days, months)).all()
    assert (core._months(days) == core._month_numbers(days)).all()


# --- rules ---------------------------------------------------------------------------


def test_each_outcome_is_paid_once_and_in_order_of_its_prerequisites():
    terms = card(CHAIN, PRICES)
    count, totals = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01"},
            {"who": "A", "outcome": "weeks_13", "on": "2024-05-02"},
            {"who": "A", "outcome": "start", "on": "2024-09-01"},  # a second job
            {"who": "A", "outcome": "weeks_26", "on": "2024-08-01"},
        ],
    )
    assert reasons(count) == [None, None, "duplicate", None]
    assert totals["total_ore"] == 600000
    assert totals["counts"] == {"start": 1, "weeks_13": 1, "weeks_26": 1}
    assert totals["participants_paid"] == 1


def test_an_outcome_before_its_prerequisite_is_not_paid_but_a_later_one_is():
    terms = card(CHAIN, PRICES)
    count, totals = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "weeks_13", "on": "2024-02-01"},  # no job start yet
            {"who": "A", "outcome": "start", "on": "2024-03-01"},
            {"who": "A", "outcome": "weeks_13", "on": "2024-03-01"},  # the same day counts
            {"who": "A", "outcome": "weeks_26", "on": "2024-01-20"},
        ],
    )
    assert reasons(count) == ["before_prerequisite", None, None, "before_prerequisite"]
    assert totals["values_ore"] == {"start": 100000, "weeks_13": 200000, "weeks_26": 0}


def test_a_prerequisite_that_breaks_a_rule_does_not_open_the_next_outcome():
    terms = card(CHAIN, PRICES, window_months=3)
    count, _ = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "start", "on": "2024-05-01"},  # after the window
            {"who": "A", "outcome": "weeks_13", "on": "2024-04-10"},
        ],
    )
    assert reasons(count) == ["outside_window", "before_prerequisite"]


def test_the_window_runs_to_the_same_day_months_later_inclusive():
    terms = card({"start": {"price": "p_start", "window_months": 1}}, PRICES)
    people = [{"id": "A", "included": "2024-01-31"}, {"id": "B", "included": "2024-01-31"}]
    count, _ = run(
        terms,
        people,
        [
            {"who": "A", "outcome": "start", "on": "2024-02-29"},  # a leap year's last day
            {"who": "B", "outcome": "start", "on": "2024-03-01"},
        ],
    )
    assert reasons(count) == [None, "outside_window"]


def test_dates_outside_membership_and_period_are_not_paid():
    terms = card(
        CHAIN,
        PRICES,
        period="contract",
        periods={"contract": Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))},
    )
    people = [{"id": "A", "included": "2024-01-15", "left": "2024-06-30"}, BOB]
    count, totals = run(
        terms,
        people,
        [
            {"who": "A", "outcome": "start", "on": "2024-01-14"},
            {"who": "A", "outcome": "start", "on": "2024-06-30"},  # on the last day: paid
            {"who": "A", "outcome": "weeks_13", "on": "2024-07-01"},
            {"who": "B", "outcome": "start", "on": "2025-01-01"},
            {"who": "C", "outcome": "start", "on": "2024-05-01"},
            {"who": "B", "outcome": "job_end", "on": "2024-05-01"},
        ],
    )
    assert reasons(count) == [
        "before_inclusion",
        None,
        "after_leaving",
        "outside_period",
        "not_a_participant",
        "unpriced",
    ]
    assert totals["uncounted"]["after_leaving"] == 1
    assert sum(totals["uncounted"].values()) == 5


def test_the_comparison_group_and_missing_evidence_are_not_paid():
    terms = card(CHAIN, PRICES, require_evidence=True)
    people = [ALICE, {**BOB, "treated": False}]
    count, totals = run(
        terms,
        people,
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01", "evidence": "  "},
            {"who": "A", "outcome": "start", "on": "2024-02-02", "evidence": "contract"},
            {"who": "B", "outcome": "start", "on": "2024-04-01", "evidence": "contract"},
        ],
    )
    assert reasons(count) == ["no_evidence", None, "comparison_group"]
    assert totals["participants_included"] == 1


def test_more_than_once_when_the_contract_says_so():
    terms = card({"month_in_work": {"price": "p_start", "max_per_participant": 2}}, PRICES)
    count, totals = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "month_in_work", "on": "2024-04-01"},
            {"who": "A", "outcome": "month_in_work", "on": "2024-03-01"},
            {"who": "A", "outcome": "month_in_work", "on": "2024-05-01"},
        ],
    )
    assert reasons(count) == [None, None, "duplicate"]
    assert totals["total_ore"] == 200000


def test_same_day_duplicates_are_told_apart_by_their_evidence():
    terms = card(CHAIN, PRICES)
    count, _ = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01", "evidence": "payslip"},
            {"who": "A", "outcome": "start", "on": "2024-02-01", "evidence": "contract"},
            {"who": "A", "outcome": "start", "on": "2024-02-01"},
        ],
    )
    assert reasons(count) == ["duplicate", "duplicate", None]


def test_a_price_group_pays_its_own_price():
    outcomes = {"start": {"price": "p_start", "prices_by_group": {"high": "p_13"}}}
    terms = card(outcomes, PRICES, price_group="need")
    people = [{**ALICE, "group": "high"}, {**BOB, "group": "standard"}]
    count, totals = run(
        terms,
        people,
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01"},
            {"who": "B", "outcome": "start", "on": "2024-04-01"},
        ],
    )
    assert list(count.price) == [200000, 100000]
    assert totals["total_ore"] == 300000


# --- caps ----------------------------------------------------------------------------


def test_the_total_cap_pays_the_room_left_in_date_order_then_by_pseudonym():
    rows = [
        {"who": "C", "outcome": "start", "on": "2024-03-05"},
        {"who": "B", "outcome": "start", "on": "2024-03-05"},
        {"who": "A", "outcome": "start", "on": "2024-03-01"},
    ]
    people = [ALICE, BOB, {"id": "C", "included": "2024-01-01"}]
    # A first (the earliest), then B before C (the same day, by pseudonym).
    count, totals = run(card(CHAIN, {**PRICES, "cap": 2500}, cap_total="cap"), people, rows)
    assert list(count.paid) == [50000, 100000, 100000]
    assert [int(c) for c in count.capped_by] == [3, 0, 0]
    assert totals["total_ore"] == 250000 and totals["before_caps_ore"] == 300000
    count, totals = run(card(CHAIN, {**PRICES, "cap": 2000}, cap_total="cap"), people, rows)
    assert list(count.paid) == [0, 100000, 100000]
    assert reasons(count) == ["over_total_cap", None, None]
    assert totals["counts"]["start"] == 2 and totals["achieved"]["start"] == 3


def test_on_the_day_the_cap_is_reached_the_pseudonym_comes_before_the_cards_order():
    terms = card(
        {"x": {"price": "p_start"}, "y": {"price": "p_start"}},
        {**PRICES, "cap": 1000},
        cap_total="cap",
    )
    count, _ = run(
        terms,
        [ALICE, BOB],
        [
            {"who": "B", "outcome": "x", "on": "2024-04-02"},
            {"who": "A", "outcome": "y", "on": "2024-04-02"},
        ],
    )
    assert reasons(count) == ["over_total_cap", None]


def test_a_cap_one_ore_below_the_price_cuts_one_ore():
    terms = card(
        {"start": {"price": "p"}}, {"p": "10.01", "cap": "10.00"}, cap_per_participant="cap"
    )
    count, _ = run(terms, [ALICE], [{"who": "A", "outcome": "start", "on": "2024-02-01"}])
    assert list(count.paid) == [1000] and list(count.capped_by) == [1]


def test_caps_apply_per_participant_then_per_outcome_then_in_total():
    prices = {**PRICES, "per_person": 2500, "per_outcome": 1500, "total": 100000}
    outcomes = {**CHAIN, "start": {"price": "p_start", "cap": "per_outcome"}}
    terms = card(outcomes, prices, cap_per_participant="per_person", cap_total="total")
    count, totals = run(
        terms,
        [ALICE, BOB],
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01"},
            {"who": "A", "outcome": "weeks_13", "on": "2024-05-01"},
            {"who": "B", "outcome": "start", "on": "2024-04-01"},
        ],
    )
    # A: 1000 + 2000 capped at 2500 → 1000 + 1500; the start cap 1500 leaves B 500.
    assert list(count.paid) == [100000, 150000, 50000]
    assert [int(c) for c in count.capped_by] == [0, 1, 2]
    assert totals["total_ore"] == 300000


def test_an_event_with_no_room_left_is_over_the_cap_that_emptied_it():
    terms = card(CHAIN, {**PRICES, "cap": 1000}, cap_per_participant="cap")
    count, totals = run(
        terms,
        [ALICE],
        [
            {"who": "A", "outcome": "start", "on": "2024-02-01"},
            {"who": "A", "outcome": "weeks_13", "on": "2024-05-01"},
        ],
    )
    assert reasons(count) == [None, "over_participant_cap"]
    assert totals["uncounted"]["over_participant_cap"] == 1
    assert totals["achieved"]["weeks_13"] == 1 and totals["counts"]["weeks_13"] == 0


def test_huge_prices_are_still_counted_exactly():
    price = 10**13  # SEK: sums beyond an int64 of öre
    terms = card({"start": {"price": "p"}}, {"p": price})
    people = [{"id": f"P{i}", "included": "2024-01-01"} for i in range(1000)]
    rows = [{"who": f"P{i}", "outcome": "start", "on": "2024-02-01"} for i in range(1000)]
    _, totals = run(terms, people, rows)
    assert totals["total_ore"] == 1000 * price * 100


# --- funnel -----------------------------------------------------------------------


def test_the_funnel_counts_participants_by_month_cumulatively():
    terms = card(CHAIN, {**PRICES, "cap": 1500}, cap_total="cap")
    people = [ALICE, BOB]
    rows = [
        {"who": "A", "outcome": "start", "on": "2024-02-01"},
        {"who": "B", "outcome": "start", "on": "2024-03-10"},  # over the cap, still reached
        {"who": "A", "outcome": "weeks_13", "on": "2024-05-02"},
    ]
    people_arrays = participants(people)
    event_arrays = events(rows, terms, people)
    count = count_events(terms, people_arrays, event_arrays)
    shape = funnel(terms, people_arrays, event_arrays, count, dt.date(2024, 6, 15))
    assert shape["month"] == [f"2024-{m:02d}-01" for m in range(1, 7)]
    assert shape["included"] == [1, 1, 2, 2, 2, 2]
    assert shape["outcomes"]["start"] == [0, 1, 2, 2, 2, 2]
    assert shape["outcomes"]["weeks_13"] == [0, 0, 0, 0, 1, 1]
    assert shape["earned_ore"] == [0, 100000, 150000, 150000, 150000, 150000]


def test_nothing_to_count_is_zero_not_an_error():
    terms = card(CHAIN, PRICES, cap_total="p_26")
    _, totals = run(terms, [ALICE], [])
    assert totals["total_ore"] == 0 and totals["events"] == 0
    assert all(v == 0 for v in totals["uncounted"].values())
    people_arrays = participants([])
    empty = count_events(terms, people_arrays, events([], terms, []))
    assert funnel(terms, people_arrays, events([], terms, []), empty)["month"] == []
    assert int(NO_DAY) > day("9999-12-31")
