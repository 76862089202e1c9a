"""Property tests of the rate card's payment maths (hypothesis).

Random cards, participants and events; the vectorised count must equal a plain
Python statement of the rules (:func:`oracle`, written from the module docstring of
``utfall.core.evaluation.rate_card``, one event at a time), and whatever the data:
no cap is exceeded, nothing is negative or above its price, no outcome is paid more
often per participant than the card allows, and more qualifying events never pay
less (for events dated after the others under any caps; for events anywhere when
at most the total cap applies).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rate_card_rules import Period, card, events, participants

from utfall.core.evaluation.rate_card import REASONS, count_events, summary

NAMES = ("a", "b", "c")
IDS = ("Q7", "A2", "M1", "B9", "Z0")
EPOCH = dt.date(2024, 1, 1)
START = (EPOCH - dt.date(1970, 1, 1)).days


def _plus_months(number: int, months: int) -> int:
    date = dt.date(1970, 1, 1) + dt.timedelta(days=number)
    total = date.year * 12 + date.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    later = dt.date(year, month, min(date.day, calendar.monthrange(year, month)[1]))
    return (later - dt.date(1970, 1, 1)).days


def _sek(ore: int) -> str:
    """Whole öre as the text of SEK, so prices and caps have öre."""
    return f"{ore // 100}.{ore % 100:02d}"


@st.composite
def scenarios(draw: Any, *, caps: bool = True) -> dict[str, Any]:
    """A card (options and prices), participants and events."""
    count = draw(st.sampled_from([1, 2, 3, 3]))
    outcomes: dict[str, dict[str, Any]] = {}
    prices: dict[str, str] = {}
    for index, name in enumerate(NAMES[:count]):
        prices[f"p_{name}"] = _sek(draw(st.integers(0, 5000)))
        entry: dict[str, Any] = {"price": f"p_{name}"}
        if index and draw(st.integers(0, 3)) > 0:
            entry["requires"] = NAMES[draw(st.integers(0, index - 1))]
        if draw(st.booleans()):
            entry["max_per_participant"] = draw(st.integers(1, 2))
        if draw(st.integers(0, 3)) == 0:
            entry["window_months"] = draw(st.integers(1, 6))
        if draw(st.booleans()):
            prices[f"g_{name}"] = _sek(draw(st.integers(0, 8000)))
            entry["prices_by_group"] = {"g": f"g_{name}"}
        if caps and draw(st.booleans()):
            prices[f"cap_{name}"] = _sek(draw(st.integers(0, 12000)))
            entry["cap"] = f"cap_{name}"
        outcomes[name] = entry
    options: dict[str, Any] = {"price_group": "need"}
    if caps and draw(st.booleans()):
        prices["per_person"] = _sek(draw(st.integers(0, 10000)))
        options["cap_per_participant"] = "per_person"
    if draw(st.booleans()):
        prices["total"] = _sek(draw(st.integers(0, 20000)))
        options["cap_total"] = "total"
    if draw(st.booleans()):
        options["require_evidence"] = True
    periods = {}
    if draw(st.booleans()):
        first = START + draw(st.integers(0, 60))
        periods["contract"] = Period(
            dt.date(1970, 1, 1) + dt.timedelta(days=first),
            dt.date(1970, 1, 1) + dt.timedelta(days=first + draw(st.integers(0, 150))),
        )
        options["period"] = "contract"
    people = []
    for pid in draw(st.lists(st.sampled_from(IDS), unique=True, min_size=1, max_size=4)):
        included = START + draw(st.integers(0, 60))
        person: dict[str, Any] = {"id": pid, "included": included}
        if draw(st.booleans()):
            person["left"] = included + draw(st.integers(0, 120))
        person["treated"] = draw(st.integers(0, 5)) > 0
        person["group"] = draw(st.sampled_from([None, "g", "h"]))
        people.append(person)
    who = [p["id"] for p in people] or list(IDS)
    rows = draw(st.lists(event_rows(who), max_size=30))
    chained = [name for name, entry in outcomes.items() if "requires" in entry]
    if chained and draw(st.booleans()):
        # An outcome reported before, and again after, the one it requires.
        name = draw(st.sampled_from(chained))
        person = draw(st.sampled_from(who))
        early, middle, late = sorted(
            draw(st.lists(st.integers(0, 120), min_size=3, max_size=3, unique=True))
        )
        rows += [
            {"who": person, "outcome": name, "on": early, "evidence": None},
            {"who": person, "outcome": outcomes[name]["requires"], "on": middle, "evidence": None},
            {"who": person, "outcome": name, "on": late, "evidence": None},
        ]
        rows = draw(st.permutations(rows))
    rows = [_dated(row, people) for row in rows]
    if len(who) > 1 and draw(st.booleans()):
        # Several participants achieving outcomes on one day: the order caps take them in.
        day = max(p["included"] for p in people) + draw(st.integers(0, 60))
        rows += draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "who": st.sampled_from(who),
                        "outcome": st.sampled_from(NAMES),
                        "on": st.just(day),
                        "evidence": st.sampled_from([None, "e1", "e2"]),
                    }
                ),
                min_size=2,
                max_size=6,
            )
        )
    return {
        "outcomes": outcomes,
        "prices": prices,
        "options": options,
        "periods": periods,
        "people": people,
        "rows": rows,
    }


def event_rows(who: list[str] | None = None) -> Any:
    """Events mostly of the given participants (one in eight of someone unknown)."""
    known = st.sampled_from(who or list(IDS))
    return st.fixed_dictionaries(
        {
            "who": st.one_of(*([known] * 7), st.just("X5")),
            "outcome": st.sampled_from([*NAMES, "unpriced"]),
            "on": st.integers(-5, 150),  # days after the participant's inclusion
            "evidence": st.sampled_from([None, None, None, "", "e1", "e2"]),
        }
    )


def _dated(row: dict[str, Any], people: list[dict[str, Any]]) -> dict[str, Any]:
    """The row dated from its participant's inclusion (most events fall inside the rules,
    so prerequisites, duplicates and caps get work)."""
    included = next((p["included"] for p in people if p["id"] == row["who"]), START)
    return {**row, "on": included + row["on"]}


def _terms(case: dict[str, Any]) -> Any:
    return card(case["outcomes"], case["prices"], periods=case["periods"], **case["options"])


def counted(case: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    terms = _terms(case)
    people = participants(case["people"], terms.groups)
    rows = events(case["rows"], terms, case["people"])
    count = count_events(terms, people, rows)
    return terms, count, summary(terms, people, rows, count)


def oracle(terms: Any, people: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict:
    """The rules, one event at a time."""
    by_id = {p["id"]: p for p in people}
    rank = {name: i for i, name in enumerate(terms.names)}
    reason: list[str | None] = [None] * len(rows)

    def evidence_key(i: int) -> tuple[bool, str]:
        text = rows[i].get("evidence")
        return (text is not None, text or "")

    for i, row in enumerate(rows):
        person = by_id.get(row["who"])
        day = row["on"]
        terms_of = terms.outcome(row["outcome"]) if row["outcome"] in rank else None
        checks = [
            ("not_a_participant", person is None),
            ("comparison_group", person is not None and not person["treated"]),
            ("unpriced", terms_of is None),
        ]
        if person is not None and terms_of is not None:
            window = terms_of.window_months
            checks += [
                ("before_inclusion", day < person["included"]),
                ("after_leaving", person.get("left") is not None and day > person["left"]),
                (
                    "outside_window",
                    window is not None and day > _plus_months(person["included"], window),
                ),
                (
                    "outside_period",
                    terms.period is not None
                    and not (
                        (terms.period[0] - dt.date(1970, 1, 1)).days
                        <= day
                        <= (terms.period[1] - dt.date(1970, 1, 1)).days
                    ),
                ),
                ("no_evidence", terms.require_evidence and not (row.get("evidence") or "")),
            ]
        reason[i] = next((name for name, failed in checks if failed), None)
    first: dict[tuple[str, str], int] = {}
    for outcome in terms.prerequisite_order():
        for i, row in enumerate(rows):
            if reason[i] is not None or row["outcome"] != outcome.name:
                continue
            if outcome.requires is not None:
                needed = first.get((row["who"], outcome.requires))
                if needed is None or row["on"] < needed:
                    reason[i] = "before_prerequisite"
                    continue
        for i, row in enumerate(rows):
            if reason[i] is None and row["outcome"] == outcome.name:
                key = (row["who"], outcome.name)
                first[key] = min(first.get(key, row["on"]), row["on"])
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if reason[i] is None:
            groups[(row["who"], row["outcome"])].append(i)
    for (_, name), members in groups.items():
        members.sort(key=lambda i: (rows[i]["on"], *evidence_key(i), i))
        for i in members[terms.outcome(name).max_per_participant :]:
            reason[i] = "duplicate"
    paying = [i for i in range(len(rows)) if reason[i] is None]
    price = [0] * len(rows)
    for i in paying:
        person = by_id[rows[i]["who"]]
        price[i] = terms.outcome(rows[i]["outcome"]).price_for(person["group"])
    amount = {i: price[i] for i in paying}
    cut: dict[int, str] = {}

    def apply(members: list[int], cap: int, name: str) -> None:
        room = cap
        for i in members:
            pay = min(amount[i], room)
            if pay < amount[i]:
                cut[i] = name
            amount[i] = pay
            room -= pay

    if terms.cap_per_participant_ore is not None:
        for who in {rows[i]["who"] for i in paying}:
            members = sorted(
                (i for i in paying if rows[i]["who"] == who),
                key=lambda i: (rows[i]["on"], rank[rows[i]["outcome"]], *evidence_key(i), i),
            )
            apply(members, terms.cap_per_participant_ore, "participant")
    for outcome in terms.outcomes:
        if outcome.cap_ore is not None:
            members = sorted(
                (i for i in paying if rows[i]["outcome"] == outcome.name),
                key=lambda i: (rows[i]["on"], rows[i]["who"], *evidence_key(i), i),
            )
            apply(members, outcome.cap_ore, "outcome")
    if terms.cap_total_ore is not None:
        members = sorted(
            paying,
            key=lambda i: (
                rows[i]["on"],
                rows[i]["who"],
                rank[rows[i]["outcome"]],
                *evidence_key(i),
                i,
            ),
        )
        apply(members, terms.cap_total_ore, "total")
    for i in paying:
        if amount[i] == 0 and price[i] > 0:
            reason[i] = f"over_{cut[i]}_cap"
    return {
        "reason": reason,
        "paid": [amount.get(i, 0) for i in range(len(rows))],
        "capped_by": [cut.get(i) for i in range(len(rows))],
    }


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_the_count_is_the_rules_applied_one_event_at_a_time(case):
    terms, count, _ = counted(case)
    expected = oracle(terms, case["people"], case["rows"])
    assert [None if r == 0 else REASONS[r - 1] for r in count.reason] == expected["reason"]
    assert [int(v) for v in count.paid] == expected["paid"]
    caps = [None, "participant", "outcome", "total"]
    assert [caps[c] for c in count.capped_by] == expected["capped_by"]


@SETTINGS
@given(scenarios())
def test_caps_hold_and_nothing_is_negative_or_paid_twice(case):
    terms, count, totals = counted(case)
    rows = case["rows"]
    paid = [int(v) for v in count.paid]
    assert all(0 <= p <= int(price) for p, price in zip(paid, count.price, strict=True))
    if terms.cap_total_ore is not None:
        assert sum(paid) <= terms.cap_total_ore
    if terms.cap_per_participant_ore is not None:
        for who in {r["who"] for r in rows}:
            mine = sum(p for p, r in zip(paid, rows, strict=True) if r["who"] == who)
            assert mine <= terms.cap_per_participant_ore
    for outcome in terms.outcomes:
        mine = [p for p, r in zip(paid, rows, strict=True) if r["outcome"] == outcome.name]
        if outcome.cap_ore is not None:
            assert sum(mine) <= outcome.cap_ore
        per_person: dict[str, int] = defaultdict(int)
        for reason, row in zip(count.reason, rows, strict=True):
            if reason == 0 and row["outcome"] == outcome.name:
                per_person[row["who"]] += 1
        assert all(n <= outcome.max_per_participant for n in per_person.values())
    assert totals["total_ore"] == sum(paid) == sum(totals["values_ore"].values())
    assert sum(totals["uncounted"].values()) + sum(totals["counts"].values()) == len(rows)


@SETTINGS
@given(scenarios(), st.lists(event_rows(), min_size=1, max_size=5))
def test_later_events_never_lower_the_total(case, more):
    _, _, before = counted(case)
    last = max((r["on"] for r in case["rows"]), default=START)
    later = [{**row, "on": last + 1 + i} for i, row in enumerate(more)]
    _, _, after = counted({**case, "rows": [*case["rows"], *later]})
    assert after["total_ore"] >= before["total_ore"]


@SETTINGS
@given(scenarios(caps=False), st.lists(event_rows(), min_size=1, max_size=5))
def test_more_events_never_lower_the_total_under_a_total_cap(case, more):
    _, _, before = counted(case)
    more = [_dated(row, case["people"]) for row in more]
    _, _, after = counted({**case, "rows": [*case["rows"], *more]})
    assert after["total_ore"] >= before["total_ore"]
