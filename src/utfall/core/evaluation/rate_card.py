"""The terms of a rate card: a price per participant for each outcome achieved.

A rate card (``method: rate_card``) pays a price for each outcome a participant
achieves, under rules the contract states (docs/evaluation.md, decision 0155):

* an outcome is paid at most ``max_per_participant`` times per participant (once by
  default); a further achievement is a ``duplicate``;
* an outcome that ``requires`` another counts only if the participant achieved the
  required one (under these same rules, caps aside) on or before the same day;
* an outcome counts only from the participant's inclusion, up to ``window_months``
  months after it (on or before that day), up to the participant's end date and
  inside the contract ``period``;
* the price is the contract parameter ``price``, or the one ``prices_by_group`` names
  for the participant's value of the ``price_group`` column;
* caps (money parameters) apply in a fixed order — the participant's cap, then the
  outcome's, then the total — each to what passed the one before, the events taken
  in date order (then participant, the card's order of outcomes, evidence); an event
  is paid the room left under each cap, so a cap, once reached, is reached exactly.

An event that is not paid has one reason, the first of :data:`REASONS` it meets.

:func:`rate_card_terms` turns a spec's options and the settlement's parameter values
into exact :class:`RateCardTerms` (prices and caps in whole öre); :func:`count_events`
applies them to participants and events given as integer arrays (day numbers,
indices), vectorised with numpy and exact (int64 öre, Python integers should a sum
not fit); :func:`summary`, :func:`summaries` (per subgroup) and :func:`funnel` aggregate the
result.
:mod:`utfall.services.rate_card` turns a contract's tables into those arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from utfall.core.evaluation.spec import METHOD_RULES, EvaluationSpec, RateCardOutcome
from utfall.errors import SpecInvalid

__all__ = [
    "CAPS",
    "NO_DAY",
    "REASONS",
    "REASON_LABELS",
    "Count",
    "Events",
    "OutcomeTerms",
    "Participants",
    "RateCardTerms",
    "add_months",
    "count_events",
    "funnel",
    "ore",
    "rate_card_terms",
    "sek",
    "sek_text",
    "summaries",
    "summary",
]

REASONS = (
    "not_a_participant",
    "comparison_group",
    "unpriced",
    "before_inclusion",
    "after_leaving",
    "outside_window",
    "outside_period",
    "no_evidence",
    "before_prerequisite",
    "duplicate",
    "over_participant_cap",
    "over_outcome_cap",
    "over_total_cap",
)
"""Why an event is not paid, in the order the rules are tried (the first one met counts)."""

REASON_LABELS: Mapping[str, tuple[str, str]] = {
    "not_a_participant": ("Inte en deltagare", "Not a participant"),
    "comparison_group": ("I jämförelsegruppen", "In the comparison group"),
    "unpriced": ("Utfallet har inget pris", "The outcome has no price"),
    "before_inclusion": ("Före inkluderingen", "Before inclusion"),
    "after_leaving": ("Efter avslut", "After leaving"),
    "outside_window": ("Utanför tidsfönstret", "Outside the window"),
    "outside_period": ("Utanför avtalsperioden", "Outside the contract period"),
    "no_evidence": ("Underlag saknas", "No evidence"),
    "before_prerequisite": ("Före det utfall som krävs", "Before its prerequisite"),
    "duplicate": ("Redan betalt", "Already paid (duplicate)"),
    "over_participant_cap": ("Över taket per deltagare", "Over the cap per participant"),
    "over_outcome_cap": ("Över taket för utfallet", "Over the outcome's cap"),
    "over_total_cap": ("Över totaltaket", "Over the total cap"),
}
"""Each reason in Swedish and English, for the pages that show it."""

CAPS = ("participant", "outcome", "total")
"""The order the caps apply in."""

_ORE_PER_SEK = 100
NO_DAY = np.iinfo(np.int64).max
"""The day number of "never" (no end date, no first achievement)."""
_SAFE = 2**62  # a sum of öre below this fits an int64

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class _Period(Protocol):
    @property
    def start(self) -> dt.date: ...

    @property
    def end(self) -> dt.date: ...


@dataclass(frozen=True)
class OutcomeTerms:
    """One outcome of the card with its prices in öre."""

    name: str
    rank: int
    price_parameter: str
    price_ore: int
    prices_by_group_ore: Mapping[str, int]
    requires: str | None
    window_months: int | None
    max_per_participant: int
    cap_parameter: str | None
    cap_ore: int | None

    def price_for(self, group: str | None) -> int:
        """The price (öre) for a participant of price group ``group``."""
        if group is not None and group in self.prices_by_group_ore:
            return self.prices_by_group_ore[group]
        return self.price_ore


@dataclass(frozen=True)
class RateCardTerms:
    """A rate card with every price and cap resolved to whole öre."""

    outcomes: tuple[OutcomeTerms, ...]
    outcome_column: str
    evidence_column: str | None
    require_evidence: bool
    price_group: str | None
    cap_per_participant_ore: int | None
    cap_total_ore: int | None
    period: tuple[dt.date, dt.date] | None
    period_name: str | None

    def outcome(self, name: str) -> OutcomeTerms:
        """The outcome called ``name`` (KeyError if the card has none)."""
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The outcomes in the card's order."""
        return tuple(o.name for o in self.outcomes)

    @property
    def groups(self) -> tuple[str, ...]:
        """The values of the price group that have prices of their own, sorted."""
        return tuple(sorted({g for o in self.outcomes for g in o.prices_by_group_ore}))

    def price_matrix(self) -> IntArray:
        """Prices in öre by outcome (rows, the card's order) and price group (columns,
        :attr:`groups` and last the default price)."""
        groups = self.groups
        return np.array(
            [
                [o.prices_by_group_ore.get(g, o.price_ore) for g in groups] + [o.price_ore]
                for o in self.outcomes
            ],
            dtype=np.int64,
        )

    def prerequisite_order(self) -> tuple[OutcomeTerms, ...]:
        """The outcomes with each one after the outcome it requires."""
        placed: list[OutcomeTerms] = []
        done: set[str] = set()
        remaining = list(self.outcomes)
        while remaining:
            ready = [o for o in remaining if o.requires is None or o.requires in done]
            if not ready:
                names = ", ".join(o.name for o in remaining)
                raise SpecInvalid(
                    f"options.outcomes: the prerequisites go round in a circle ({names})"
                )
            for outcome in ready:
                placed.append(outcome)
                done.add(outcome.name)
                remaining.remove(outcome)
        return tuple(placed)


def ore(value: Any, what: str) -> int:
    """A money value as whole öre; SpecInvalid naming ``what`` for anything else."""
    if isinstance(value, bool) or value is None:
        raise SpecInvalid(f"{what}: needs an amount of money, not {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise SpecInvalid(f"{what}: {value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise SpecInvalid(f"{what}: {value!r} is not an amount of money")
    scaled = amount * _ORE_PER_SEK
    if scaled != scaled.to_integral_value():
        raise SpecInvalid(f"{what}: {amount} SEK is not a whole number of öre")
    if scaled < 0:
        raise SpecInvalid(f"{what}: {amount} SEK is negative; a price or cap is at least 0")
    return int(scaled)


def sek(amount_ore: int) -> Decimal:
    """Whole öre as SEK with two decimals."""
    return (Decimal(amount_ore) / _ORE_PER_SEK).quantize(Decimal("0.01"))


def sek_text(amount_ore: int) -> str:
    """Whole öre as the exact text of SEK (``"1234.50"``)."""
    return format(sek(amount_ore), "f")


def _money(parameters: Mapping[str, Any], name: str, where: str) -> int:
    if name not in parameters:
        raise SpecInvalid(f"{where}: the contract has no parameter {name!r}")
    return ore(parameters[name], f"{where} ({name})")


def rate_card_terms(
    spec: EvaluationSpec,
    parameters: Mapping[str, Any],
    periods: Mapping[str, _Period],
) -> RateCardTerms:
    """The card ``spec`` describes, priced with ``parameters`` (the settlement's values,
    what-if overrides included) and bounded by the named contract period."""
    rule = METHOD_RULES["rate_card"]
    options: Any = rule.options(**spec.options)
    outcomes: dict[str, RateCardOutcome] = dict(options.outcomes)
    terms: list[OutcomeTerms] = []
    for rank, (name, outcome) in enumerate(outcomes.items()):
        base = f"options.outcomes.{name}"
        if outcome.requires is not None and outcome.requires not in outcomes:
            raise SpecInvalid(
                f"{base}.requires: {outcome.requires!r} is not an outcome of this rate card"
            )
        terms.append(
            OutcomeTerms(
                name=name,
                rank=rank,
                price_parameter=outcome.price,
                price_ore=_money(parameters, outcome.price, f"{base}.price"),
                prices_by_group_ore={
                    group: _money(parameters, price, f"{base}.prices_by_group.{group}")
                    for group, price in outcome.prices_by_group.items()
                },
                requires=outcome.requires,
                window_months=outcome.window_months or options.window_months,
                max_per_participant=outcome.max_per_participant,
                cap_parameter=outcome.cap,
                cap_ore=None
                if outcome.cap is None
                else _money(parameters, outcome.cap, f"{base}.cap"),
            )
        )
    if any(o.prices_by_group_ore for o in terms) and options.price_group is None:
        raise SpecInvalid("options.price_group: prices by group need the participants' column")
    period = None
    if options.period is not None:
        if options.period not in periods:
            known = ", ".join(periods) or "none"
            raise SpecInvalid(
                f"options.period: the contract has no period {options.period!r} ({known})"
            )
        span = periods[options.period]
        period = (span.start, span.end)
    card = RateCardTerms(
        outcomes=tuple(terms),
        outcome_column=options.outcome_column,
        evidence_column=options.evidence_column,
        require_evidence=options.require_evidence,
        price_group=options.price_group,
        cap_per_participant_ore=None
        if options.cap_per_participant is None
        else _money(parameters, options.cap_per_participant, "options.cap_per_participant"),
        cap_total_ore=None
        if options.cap_total is None
        else _money(parameters, options.cap_total, "options.cap_total"),
        period=period,
        period_name=options.period,
    )
    card.prerequisite_order()
    return card


# --- counting ------------------------------------------------------------------------

_CODE = {reason: index + 1 for index, reason in enumerate(REASONS)}
_CAP_REASON = np.array(
    [0, _CODE["over_participant_cap"], _CODE["over_outcome_cap"], _CODE["over_total_cap"]],
    dtype=np.int8,
)


@dataclass(frozen=True)
class Participants:
    """The participants as arrays, one element per participant.

    ``inclusion`` and ``end`` are day numbers (days since 1970-01-01; :data:`NO_DAY`: no
    end date), ``treated`` marks who may be paid for, ``group`` is the index of the
    participant's price group in :attr:`RateCardTerms.groups` (-1: the default price)
    and ``pseudonym(i)`` participant ``i``'s pseudonym, which orders the events of one
    day where a cap is reached.
    """

    inclusion: IntArray
    end: IntArray
    treated: BoolArray
    group: IntArray
    pseudonym: Callable[[int], str]

    def __len__(self) -> int:
        return len(self.inclusion)


@dataclass(frozen=True)
class Events:
    """The events as arrays, one element per event.

    ``participant`` indexes :class:`Participants` (-1: not a participant), ``outcome``
    indexes the card's outcomes (-1: an outcome the card does not price), ``day`` is a
    day number and ``no_evidence`` marks an event without evidence. ``evidence(i)``
    gives event ``i``'s evidence, which orders events that agree on everything else.
    """

    participant: IntArray
    outcome: IntArray
    day: IntArray
    no_evidence: BoolArray
    evidence: Callable[[int], str | None]

    def __len__(self) -> int:
        return len(self.day)


@dataclass(frozen=True)
class Count:
    """The card applied to every event (arrays aligned with :class:`Events`).

    ``reason`` is 0 for an event that is paid (or priced at 0), else 1 + the index of
    its reason in :data:`REASONS`; ``price`` the event's price in öre if it passed every
    rule, caps aside (else 0); ``paid`` what it is paid (öre); ``capped_by`` 0, or 1 +
    the index in :data:`CAPS` of the last cap that cut its price; ``first`` holds per
    outcome (rows, the card's order) and participant (columns) the day the participant
    first achieved the outcome under the rules, caps aside (:data:`NO_DAY`: never).
    """

    reason: npt.NDArray[np.int8]
    price: IntArray
    paid: npt.NDArray[Any]
    capped_by: npt.NDArray[np.int8]
    first: IntArray

    @property
    def counted(self) -> BoolArray:
        """The events that are paid (or priced at 0)."""
        out: BoolArray = np.equal(self.reason, 0)
        return out

    @property
    def passed(self) -> BoolArray:
        """The events that passed every rule, caps aside."""
        out: BoolArray = np.equal(self.reason, 0) | np.greater_equal(
            self.reason, _CODE["over_participant_cap"]
        )
        return out


def _civil(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of each day number (H. Hinnant's civil_from_days, in integers)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _day_numbers(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    """The day number of each date (H. Hinnant's days_from_civil, in integers)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    out: IntArray = era * 146097 + doe - 719468
    return out


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


_TABLE_SPAN = 1 << 16  # days: a lookup table of up to 179 years beats the arithmetic


def _by_table(days: IntArray, function: Callable[[IntArray], IntArray]) -> IntArray:
    """``function`` of each day number, computed once per day of their range and looked up
    (dates of a contract span a few thousand days; the arithmetic per element is slow)."""
    if len(days) < 1024:
        return function(days)
    low, high = int(days.min()), int(days.max())
    if high - low >= _TABLE_SPAN:
        return function(days)
    table = function(np.arange(low, high + 1, dtype=np.int64))
    out: IntArray = table[days - low]
    return out


def add_months(days: IntArray, months: int) -> IntArray:
    """Each day number ``months`` calendar months later (the 31st becomes the month's
    last day when the month is shorter)."""
    return _by_table(days, lambda values: _add_months(values, months))


def _add_months(days: IntArray, months: int) -> IntArray:
    year, month, day = _civil(days)
    total = year * 12 + month - 1 + months
    year, month = total // 12, total % 12 + 1
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = _MONTH_DAYS[month - 1] + ((month == 2) & leap)
    out: IntArray = _day_numbers(year, month, np.ones_like(day)) + np.minimum(day, length) - 1
    return out


def _day_number(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _ordered(
    positions: IntArray, keys: Sequence[IntArray], evidence: Callable[[int], str | None]
) -> IntArray:
    """``positions`` sorted by ``keys`` (the first the most significant); positions whose
    keys are all equal by their evidence (none first), then by position."""
    if len(positions) < 2:
        return positions
    order = np.lexsort(tuple(k[positions] for k in reversed(keys)))
    out = positions[order]
    same = np.ones(len(out) - 1, dtype=np.bool_)
    for key in keys:
        values = key[out]
        same &= values[1:] == values[:-1]
    if not same.any():
        return out
    edges = np.diff(np.concatenate(([0], same.astype(np.int8), [0])))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        block = [int(i) for i in out[start : stop + 1]]
        block.sort(key=lambda i: (evidence(i) is not None, evidence(i) or "", i))
        out[start : stop + 1] = block
    return out


def _kept(
    card: RateCardTerms,
    events: Events,
    passed: BoolArray,
    first: IntArray,
) -> BoolArray:
    """The events kept within each outcome's ``max_per_participant``: a participant's
    earliest (then by evidence); the others are duplicates."""
    kept = np.zeros(len(events), dtype=np.bool_)
    person, day, outcome = events.participant, events.day, events.outcome
    size = first.shape[1]
    once = np.array([o.max_per_participant == 1 for o in card.outcomes], dtype=np.bool_)
    candidates = np.flatnonzero(passed)
    single = once[outcome[candidates]]
    # Outcomes paid once: the event on the participant's first day (one pass for them all).
    mine = candidates[single]
    key = outcome[mine] * size + person[mine]
    earliest = mine[day[mine] == first.ravel()[key]]
    keys = outcome[earliest] * size + person[earliest]
    tied = np.bincount(keys).max(initial=0) > 1
    if not tied:
        kept[earliest] = True
    groups: list[tuple[IntArray, int]] = []
    for terms in card.outcomes:
        if terms.max_per_participant > 1:
            groups.append(
                (candidates[outcome[candidates] == terms.rank], terms.max_per_participant)
            )
        elif tied:
            groups.append((earliest[outcome[earliest] == terms.rank], 1))
    for chosen, allowed in groups:
        if not len(chosen):
            continue
        ranked = _ordered(chosen, (person, day), events.evidence)
        owners = person[ranked]
        start = np.concatenate(([True], owners[1:] != owners[:-1]))
        group = np.cumsum(start) - 1
        nth = np.arange(len(ranked)) - np.flatnonzero(start)[group]
        kept[ranked[nth < allowed]] = True
    return kept


def _cap_by_group(
    amount: npt.NDArray[Any],
    group: IntArray,
    keys: Sequence[IntArray],
    cap: int,
    evidence: Callable[[int], str | None],
) -> npt.NDArray[Any]:
    """What each amount is paid under a cap per group (a participant), each group's
    amounts taken in the order of ``keys``."""
    if not len(amount):
        return amount.copy()
    sums = np.zeros(int(group.max()) + 1, dtype=amount.dtype)
    np.add.at(sums, group, amount)
    over = np.flatnonzero(sums[group] > cap)
    out = amount.copy()
    if not len(over):
        return out
    ranked = _ordered(over, (group, *keys), evidence)
    values = amount[ranked]
    owners = group[ranked]
    start = np.concatenate(([True], owners[1:] != owners[:-1]))
    running = np.cumsum(values)
    before = (running - values)[np.flatnonzero(start)][np.cumsum(start) - 1]
    running = running - before
    out[ranked] = np.minimum(running, cap) - np.minimum(running - values, cap)
    return out


def _cap_in_order(
    amount: npt.NDArray[Any],
    day: IntArray,
    cap: int,
    tie: Callable[[int], tuple[Any, ...]],
) -> npt.NDArray[Any]:
    """What each amount is paid under one cap, the amounts taken by day, then by ``tie``
    (only the day the cap is reached needs the finer order)."""
    if amount.sum() <= cap:
        return amount.copy()
    lowest = int(day.min())
    offsets = day - lowest
    # Day offsets of less than 179 years sort by radix.
    small = offsets.astype(np.uint16) if int(offsets.max()) < 2**16 else offsets
    by_day = np.argsort(small, kind="stable")
    running = np.cumsum(amount[by_day])
    crossing = day[by_day[int(np.argmax(running > cap))]]
    earlier = day < crossing
    out: npt.NDArray[Any] = amount * earlier
    room = cap - int(out.sum())
    that_day = sorted((int(i) for i in np.flatnonzero(day == crossing)), key=tie)
    for position in that_day:
        pay = min(int(amount[position]), room)
        out[position] = pay
        room -= pay
    return out


def count_events(card: RateCardTerms, people: Participants, events: Events) -> Count:
    """Apply the card to every event (the rules in the module docstring)."""
    size = len(events)
    person = events.participant
    day = events.day
    outcome = events.outcome
    known = person >= 0
    first = np.full((len(card.outcomes), len(people)), NO_DAY, dtype=np.int64)
    rules: list[tuple[str, BoolArray]] = [("not_a_participant", ~known)]
    at = np.where(known, person, 0)
    if len(people):
        rules += [
            ("comparison_group", ~people.treated[at]),
            ("unpriced", outcome < 0),
            ("before_inclusion", day < people.inclusion[at]),
            ("after_leaving", day > people.end[at]),
        ]
        windows: dict[int, list[int]] = {}
        for terms in card.outcomes:
            if terms.window_months is not None:
                windows.setdefault(terms.window_months, []).append(terms.rank)
        late = np.zeros(size, dtype=np.bool_)
        for months, ranks in windows.items():
            ends = add_months(people.inclusion, months)
            mine = outcome >= 0 if len(ranks) == len(card.outcomes) else np.isin(outcome, ranks)
            late |= mine & (day > ends[at])
        rules.append(("outside_window", late))
        if card.period is not None:
            start, end = (_day_number(d) for d in card.period)
            rules.append(("outside_period", (day < start) | (day > end)))
        if card.require_evidence:
            rules.append(("no_evidence", events.no_evidence))
    # The first rule an event fails is its reason: apply them last to first.
    reason = np.zeros(size, dtype=np.int8)
    for name, mask in reversed(rules):
        np.copyto(reason, np.int8(_CODE[name]), where=mask)
    if len(people):
        # Prerequisites: an outcome's first day under the rules, after the one it requires.
        # Each participant's earliest event of each outcome first (one pass), then, for an
        # outcome that requires another, the few whose earliest came too soon again.
        passed = np.flatnonzero(reason == 0)
        flat = np.full(len(card.outcomes) * len(people), NO_DAY, dtype=np.int64)
        np.minimum.at(flat, outcome[passed] * len(people) + person[passed], day[passed])
        earliest = flat.reshape(len(card.outcomes), len(people))
        for terms in card.prerequisite_order():
            if terms.requires is None:
                first[terms.rank] = earliest[terms.rank]
                continue
            needed = first[card.outcome(terms.requires).rank]
            chosen = np.flatnonzero((reason == 0) & (outcome == terms.rank))
            early = day[chosen] < needed[person[chosen]]
            reason[chosen[early]] = _CODE["before_prerequisite"]
            again = earliest[terms.rank] < needed
            first[terms.rank] = np.where(again, NO_DAY, earliest[terms.rank])
            if again.any():
                redo = chosen[~early & again[person[chosen]]]
                np.minimum.at(first[terms.rank], person[redo], day[redo])
        passed = reason == 0
        reason[passed & ~_kept(card, events, passed, first)] = _CODE["duplicate"]
    counted = np.flatnonzero(reason == 0)
    matrix = card.price_matrix()
    price = np.zeros(size, dtype=np.int64)
    groups = people.group[person[counted]] if len(counted) else np.zeros(0, np.int64)
    columns = matrix.shape[1]
    price[counted] = matrix.ravel()[
        outcome[counted] * columns + np.where(groups < 0, columns - 1, groups)
    ]
    exact = int(matrix.max(initial=0)) * max(len(counted), 1) < _SAFE
    amount: npt.NDArray[Any] = price[counted] if exact else price[counted].astype(object)
    capped = np.zeros(len(counted), dtype=np.int8)

    def evidence_of(position: int) -> str | None:
        return events.evidence(int(counted[position]))

    def taken(position: int) -> tuple[Any, ...]:
        """The order of events of one day: pseudonym, the card's order, evidence."""
        index = int(counted[position])
        text = events.evidence(index)
        return (
            people.pseudonym(int(person[index])),
            int(outcome[index]),
            text is not None,
            text or "",
            index,
        )

    c_person, c_day, c_outcome = person[counted], day[counted], outcome[counted]
    if card.cap_per_participant_ore is not None:
        after = _cap_by_group(
            amount, c_person, (c_day, c_outcome), card.cap_per_participant_ore, evidence_of
        )
        capped[after < amount] = 1
        amount = after
    for terms in card.outcomes:
        if terms.cap_ore is None:
            continue
        chosen = np.flatnonzero(c_outcome == terms.rank)
        part = amount[chosen]

        def part_taken(position: int, chosen: IntArray = chosen) -> tuple[Any, ...]:
            return taken(int(chosen[position]))

        after = _cap_in_order(part, c_day[chosen], terms.cap_ore, part_taken)
        capped[chosen[after < part]] = 2
        amount[chosen] = after
    if card.cap_total_ore is not None:
        after = _cap_in_order(amount, c_day, card.cap_total_ore, taken)
        capped[after < amount] = 3
        amount = after
    paid = np.zeros(size, dtype=amount.dtype)
    paid[counted] = amount
    capped_by = np.zeros(size, dtype=np.int8)
    capped_by[counted] = capped
    nothing = counted[(amount == 0) & (price[counted] > 0)]
    reason[nothing] = _CAP_REASON[capped_by[nothing]]
    return Count(reason=reason, price=price, paid=paid, capped_by=capped_by, first=first)


def _sums(keys: IntArray, amounts: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    """Exact sums of ``amounts`` by ``keys`` (0 … size − 1): a float bincount where every
    partial sum stays below 2**53 (exact in a double), else integer by integer."""
    if amounts.dtype != object and (not len(amounts) or int(amounts.max()) * len(amounts) < 2**53):
        totals = np.bincount(keys, weights=amounts, minlength=size)
        return np.rint(totals).astype(np.int64)
    out = np.zeros(size, dtype=object)
    np.add.at(out, keys, amounts.astype(object))
    return out


def summary(
    card: RateCardTerms,
    people: Participants,
    events: Events,
    count: Count,
) -> dict[str, Any]:
    """Counts and values (öre) per outcome, participants included and paid, and the
    events not paid by reason."""
    return summaries(card, people, events, count, np.zeros(len(people), dtype=np.int64), 1)[-1]


def summaries(
    card: RateCardTerms,
    people: Participants,
    events: Events,
    count: Count,
    levels: IntArray,
    size: int,
) -> list[dict[str, Any]]:
    """:func:`summary` per level of the participants (``levels``: each participant's level,
    0 … ``size`` − 1, or -1 for none) and, last, of everything, in one pass."""
    person = events.participant
    known = person >= 0
    buckets = size + 1  # the last: events of no participant or of one without a level
    level = levels[np.where(known, person, 0)] if len(people) else np.full(len(events), -1)
    level = np.where(known & (level >= 0), level, size)
    outcome, reason = events.outcome, count.reason.astype(np.int64)
    paid, price = count.paid, count.price
    width = len(REASONS) + 1
    rows = len(card.outcomes) + 1  # an unpriced outcome is row 0
    cell = (level * rows + outcome + 1) * width + reason
    table = np.bincount(cell, minlength=buckets * rows * width).reshape(buckets, rows, width)
    over = [1 + REASONS.index(f"over_{cap}_cap") for cap in CAPS]
    counted = reason == 0
    passed = counted | (reason >= over[0])
    values = _sums(level[counted] * rows + outcome[counted] + 1, paid[counted], buckets * rows)
    values = values.reshape(buckets, rows)
    before = _sums(level[passed], price[passed], buckets)
    earner = np.zeros(len(people), dtype=np.bool_)
    earner[person[(paid > 0) & known]] = True
    grouped = np.where(levels >= 0, levels, size)
    paid_people = np.bincount(grouped[earner], minlength=buckets)
    included = np.bincount(grouped[people.treated], minlength=buckets)

    def part(index: Any) -> dict[str, Any]:
        cells = table[index].reshape(-1, rows, width).sum(axis=0)
        value = values[index].reshape(-1, rows).sum(axis=0)
        return {
            "total_ore": int(value[1:].sum()),
            "before_caps_ore": int(np.sum(before[index])),
            "counts": {o.name: int(cells[o.rank + 1, 0]) for o in card.outcomes},
            "achieved": {
                o.name: int(cells[o.rank + 1, 0] + cells[o.rank + 1, over].sum())
                for o in card.outcomes
            },
            "values_ore": {o.name: int(value[o.rank + 1]) for o in card.outcomes},
            "participants_included": int(np.sum(included[index])),
            "participants_paid": int(np.sum(paid_people[index])),
            "events": int(cells.sum()),
            "uncounted": {r: int(cells[:, i + 1].sum()) for i, r in enumerate(REASONS)},
        }

    return [*(part(i) for i in range(size)), part(slice(None))]


def _months(days: IntArray) -> IntArray:
    """Each day number's calendar month, counted from January 1970."""
    return _by_table(days, _month_numbers)


def _month_numbers(days: IntArray) -> IntArray:
    year, month, _ = _civil(days)
    out: IntArray = (year - 1970) * 12 + month - 1
    return out


def funnel(
    card: RateCardTerms,
    people: Participants,
    events: Events,
    count: Count,
    last_day: dt.date | None = None,
) -> dict[str, Any]:
    """By calendar month from the first inclusion: the participants included so far and,
    per outcome, those who achieved it so far (caps aside); and the öre earned so far.
    The months run to ``last_day`` (the day the data is taken), else to the last event
    or inclusion."""
    treated = people.treated
    empty: dict[str, Any] = {"month": [], "included": [], "outcomes": {}, "earned_ore": []}
    if not treated.any():
        return empty
    inclusion = _months(people.inclusion[treated])
    first = int(inclusion.min())
    if last_day is not None:
        last = int(_months(np.array([_day_number(last_day)], dtype=np.int64))[0])
    else:
        reached = count.first[count.first != NO_DAY]
        paid_days = events.day[count.counted]
        candidates = [people.inclusion[treated].max()]
        candidates += [reached.max()] if len(reached) else []
        candidates += [paid_days.max()] if len(paid_days) else []
        last = int(_months(np.array([max(candidates)], dtype=np.int64))[0])
    if last < first:
        return empty
    span = last - first + 1

    def cumulative(months: IntArray, weights: npt.NDArray[Any] | None = None) -> list[int]:
        inside = (months >= first) & (months <= last)
        if weights is None:
            steps: npt.NDArray[Any] = np.bincount(months[inside] - first, minlength=span)
        else:
            steps = np.zeros(span, dtype=weights.dtype)
            np.add.at(steps, months[inside] - first, weights[inside])
        return [int(v) for v in np.cumsum(steps)]

    outcomes = {}
    for outcome in card.outcomes:
        days = count.first[outcome.rank]
        outcomes[outcome.name] = cumulative(_months(days[(days != NO_DAY) & treated]))
    paid = count.counted
    return {
        "month": [f"{1970 + m // 12:04d}-{m % 12 + 1:02d}-01" for m in range(first, last + 1)],
        "included": cumulative(inclusion),
        "outcomes": outcomes,
        "earned_ore": cumulative(_months(events.day[paid]), count.paid[paid]),
    }
