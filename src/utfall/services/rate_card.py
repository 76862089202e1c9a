"""The ``rate_card`` method: pay a price per participant for each outcome achieved.

A contract's rate card reads a declared events table — one row per outcome a
participant achieved, with its date (the table's date column), the outcome (a choice
column) and optionally its evidence — and the participants table (inclusion, end
date, group, the price group). The rules are those of
:mod:`utfall.core.evaluation.rate_card` (decision 0155); prices and caps are the
settlement's parameter values, what-if overrides included. This module turns the
provider's Arrow tables into the integer arrays the core counts on (pseudonyms
become indices, dates day numbers) and the result into an Estimate; money is whole
öre throughout, never a float.

:func:`run_rate_card` gives the :class:`~utfall.core.evaluation.result.Estimate` a
contract input takes: ``estimate`` is the total earned (a float, as every estimate),
``extras["value_sek"]`` the same exactly as text, and besides it only aggregates —
the count and value per outcome, the participants paid, the events not paid by
reason, the outcome funnel by month and a short ``explanation`` for the settlement.
:func:`rate_card_detail` gives the rows behind it — every paid event with its
participant's pseudonym and every unpaid event with its reason — for the parties
allowed to see pseudonyms; it is a pure function of the same tables, so the tables'
digests in the settlement's explanation pin it down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from utfall.core.contracts.data import IDENTITY_COLUMN, PARTICIPANTS, DataDeclaration, Table
from utfall.core.evaluation.rate_card import (
    CAPS,
    NO_DAY,
    REASONS,
    Count,
    Events,
    Participants,
    RateCardTerms,
    count_events,
    funnel,
    rate_card_terms,
    sek_text,
    summaries,
)
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.errors import DataInvalid, Finding, SpecInvalid
from utfall.services.tables import TableProvider

__all__ = ["RateCardDetail", "rate_card_detail", "run_rate_card"]

_MONEY = pa.decimal128(18, 2)


class RateCardDetail(NamedTuple):
    """The events behind a rate card's figure (pseudonyms only).

    ``counted``: ``participant``, ``outcome``, ``achieved_on``, ``evidence``,
    ``price_sek``, ``paid_sek`` and ``capped_by`` (``participant``, ``outcome`` or
    ``total``: the last cap that cut the price, if one did); ``uncounted``:
    ``participant``, ``outcome``, ``achieved_on``, ``evidence``, ``reason`` (one of
    :data:`~utfall.core.evaluation.rate_card.REASONS`) and ``price_sek`` (the price of
    an event over a cap). Both in the order the events are taken: by date, pseudonym,
    the card's order of outcomes and evidence.
    """

    counted: pa.Table
    uncounted: pa.Table


@dataclass(frozen=True)
class _Prepared:
    terms: RateCardTerms
    people: Participants
    events: Events
    count: Count
    event_table: pa.Table
    people_table: pa.Table
    subgroup: pa.Array | None
    until: dt.date | None


def _text(column: pa.ChunkedArray | pa.Array) -> Any:
    """The column as strings (chunks kept: combining them would copy every string)."""
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


def _days(column: pa.ChunkedArray | pa.Array, *, missing: int = NO_DAY) -> np.ndarray:
    """A date column as day numbers (int64); an empty cell is ``missing``."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    numbers = pc.cast(pc.cast(array, pa.date32()), pa.int32()).cast(pa.int64())
    return pc.fill_null(numbers, missing).to_numpy(zero_copy_only=False)


def _indices(values: pa.Array, among: pa.Array) -> np.ndarray:
    """Each value's position in ``among`` (-1 if absent), as int64."""
    found = pc.index_in(values, value_set=among)
    return pc.fill_null(found, -1).cast(pa.int64()).to_numpy(zero_copy_only=False)


_POOL: list[ThreadPoolExecutor] = []


def _pool() -> ThreadPoolExecutor:
    """Two threads for Arrow kernels that run side by side (created on first use)."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="rate-card"))
    return _POOL[0]


def _chunks(column: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _who(people: pa.Table, events: pa.Table, where: str) -> tuple[np.ndarray, Any]:
    """Each event's participant as an index into ``people`` (-1: not a participant), from
    one hash pass over both pseudonym columns; and the participants' pseudonyms. A
    participant listed twice is refused by name."""
    mine = _text(people.column(IDENTITY_COLUMN))
    theirs = _text(events.column(IDENTITY_COLUMN))
    encoded = pc.dictionary_encode(
        pa.chunked_array([*_chunks(mine), *_chunks(theirs)], type=pa.string())
    )
    codes = (
        np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks])
        if encoded.num_chunks
        else np.zeros(0, dtype=np.int64)
    ).astype(np.int64)
    rows = people.num_rows
    own = codes[:rows]
    if rows and np.bincount(own).max() > 1:
        twice = encoded.chunks[-1].dictionary[int(np.argmax(np.bincount(own)))].as_py()
        raise DataInvalid(
            f"{where}: a participant is listed twice",
            [
                Finding(
                    "duplicate-participant",
                    f"{twice} is listed more than once; each participant is one row",
                    file=where,
                    field_name=IDENTITY_COLUMN,
                )
            ],
        )
    position = np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64)
    position[own] = np.arange(rows, dtype=np.int64)
    return position[codes[rows:]], mine


def _participants(
    table: pa.Table, declared: Table, terms: RateCardTerms, pseudonyms: Any
) -> Participants:
    rows = table.num_rows
    if declared.group is not None and declared.treated is not None:
        treated = pc.fill_null(
            pc.equal(_text(table.column(declared.group)), declared.treated), False
        ).to_numpy(zero_copy_only=False)
    else:
        treated = np.ones(rows, dtype=np.bool_)
    end = (
        _days(table.column(declared.end))
        if declared.end is not None
        else np.full(rows, NO_DAY, dtype=np.int64)
    )
    group = (
        _indices(_text(table.column(terms.price_group)), pa.array(terms.groups, pa.string()))
        if terms.price_group is not None
        else np.full(rows, -1, dtype=np.int64)
    )
    return Participants(
        inclusion=_days(table.column(declared.date)),
        end=end,
        treated=np.asarray(treated, dtype=np.bool_),
        group=group,
        pseudonym=lambda index: str(pseudonyms[index].as_py()),
    )


def _events(
    table: pa.Table, declared: Table, terms: RateCardTerms, participant: np.ndarray
) -> Events:
    rows = table.num_rows
    evidence_name = terms.evidence_column
    evidence = (
        _text(table.column(evidence_name))
        if evidence_name is not None and declared.has(evidence_name)
        else pa.nulls(rows, pa.string())
    )
    if terms.require_evidence:
        blank = pc.equal(pc.utf8_trim_whitespace(evidence), "")
        no_evidence = pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    else:
        no_evidence = np.zeros(rows, dtype=np.bool_)

    def evidence_of(index: int) -> str | None:
        value: str | None = evidence[index].as_py()
        return value

    return Events(
        participant=participant,
        outcome=_indices(
            _text(table.column(terms.outcome_column)), pa.array(terms.names, pa.string())
        ),
        day=_days(table.column(declared.date)),
        no_evidence=np.asarray(no_evidence, dtype=np.bool_),
        evidence=evidence_of,
    )


def _prepare(spec: EvaluationSpec, tables: TableProvider, context: Any) -> _Prepared:
    """The card's terms, the two tables as arrays and the count."""
    declaration: DataDeclaration | None = getattr(context, "declaration", None)
    if declaration is None or declaration.participants is None:
        raise SpecInvalid(
            "method: rate_card evaluates a contract's declared participants and events"
        )
    terms = rate_card_terms(
        spec, getattr(context, "parameters", {}) or {}, getattr(context, "periods", {}) or {}
    )
    declared = declaration.table(spec.data)
    if not declared.per_participant or declared.is_participants:
        raise SpecInvalid(f"data: rate_card reads a participant's events table, not {spec.data}")
    people_declared = declaration.participants
    if not declared.has(terms.outcome_column):
        raise SpecInvalid(
            f"options.outcome_column: {spec.data} has no column {terms.outcome_column!r}"
        )
    for column, what in ((terms.price_group, "options.price_group"), (spec.subgroup, "subgroup")):
        if column is not None and not people_declared.has(column):
            raise SpecInvalid(f"{what}: the participants have no column {column!r}")
    people_table = tables.table(PARTICIPANTS)
    event_table = tables.table(spec.data)
    # Matching pseudonyms (one hash pass) runs beside the other columns' conversions: Arrow's
    # kernels release the GIL, so the two take the machine's two cores as DuckDB would.
    matched = _pool().submit(_who, people_table, event_table, tables.describe(PARTICIPANTS))
    pseudonyms = _text(people_table.column(IDENTITY_COLUMN))
    people = _participants(people_table, people_declared, terms, pseudonyms)
    events = _events(event_table, declared, terms, np.zeros(0, dtype=np.int64))
    events = replace(events, participant=matched.result()[0])
    subgroup = _text(people_table.column(spec.subgroup)) if spec.subgroup else None
    return _Prepared(
        terms=terms,
        people=people,
        events=events,
        count=count_events(terms, people, events),
        event_table=event_table,
        people_table=people_table,
        subgroup=subgroup,
        until=getattr(context, "until", None),
    )


def _explanation(part: Mapping[str, Any], terms: RateCardTerms) -> dict[str, Any]:
    """What the settlement's explanation shows of the figure: counts, prices, caps, and the
    events not paid by reason."""
    prices: dict[str, str] = {}
    for outcome in terms.outcomes:
        by_group = ", ".join(
            f"{terms.price_group} {g}: {sek_text(p)}"
            for g, p in outcome.prices_by_group_ore.items()
        )
        price = sek_text(outcome.price_ore)
        prices[outcome.name] = f"{price} ({by_group})" if by_group else price
    caps = {
        "participant": terms.cap_per_participant_ore,
        **{f"outcome {o.name}": o.cap_ore for o in terms.outcomes},
        "total": terms.cap_total_ore,
    }
    return {
        "outcomes_paid": dict(part["counts"]),
        "value_by_outcome_sek": {k: sek_text(v) for k, v in part["values_ore"].items()},
        "prices_sek": prices,
        "caps_sek": {k: sek_text(v) for k, v in caps.items() if v is not None},
        "earned_before_caps_sek": sek_text(part["before_caps_ore"]),
        "participants_paid": part["participants_paid"],
        "events_not_paid": {k: v for k, v in part["uncounted"].items() if v},
    }


def _estimate(part: Mapping[str, Any], terms: RateCardTerms, label: str | None = None) -> Estimate:
    total = int(part["total_ore"])
    extras: dict[str, Any] = {
        "value_sek": sek_text(total),
        "value_before_caps_sek": sek_text(part["before_caps_ore"]),
        "cap_total_sek": None if terms.cap_total_ore is None else sek_text(terms.cap_total_ore),
        "counts": dict(part["counts"]),
        "achieved": dict(part["achieved"]),
        "values_sek": {k: sek_text(v) for k, v in part["values_ore"].items()},
        "participants_included": part["participants_included"],
        "participants_paid": part["participants_paid"],
        "events": part["events"],
        "uncounted": dict(part["uncounted"]),
    }
    return Estimate.exact(
        "rate_card",
        float(Decimal(total) / 100),
        part["events"],
        n_treated=part["participants_included"],
        label=label,
        outcome=terms.outcome_column,
        estimand="outcome payments (SEK)",
        extras=extras,
    )


def run_rate_card(spec: EvaluationSpec, tables: TableProvider, context: Any) -> Estimate:
    """The rate card ``spec`` describes, over the contract's events and participants."""
    run = _prepare(spec, tables, context)
    terms, people, events, count = run.terms, run.people, run.events, run.count
    names: list[str] = []
    codes = np.zeros(len(people), dtype=np.int64)
    if run.subgroup is not None:
        values = run.subgroup
        names = sorted(v for v in pc.unique(values).to_pylist() if v is not None)
        if values.null_count:
            names.append("")
        codes = _indices(pc.fill_null(values, ""), pa.array(names, pa.string()))
    # The funnel beside the counts (numpy releases the GIL in most of both).
    shaped = _pool().submit(funnel, terms, people, events, count, run.until)
    *parts, whole = summaries(terms, people, events, count, codes, max(len(names), 1))
    estimate = _estimate(whole, terms)
    shape = shaped.result()
    estimate.extras["funnel"] = {
        "month": shape["month"],
        "included": shape["included"],
        "outcomes": shape["outcomes"],
        "earned_sek": [sek_text(v) for v in shape["earned_ore"]],
    }
    estimate.extras["explanation"] = _explanation(whole, terms)
    if run.subgroup is None:
        return estimate
    subgroups = [_estimate(p, terms, label=n) for n, p in zip(names, parts, strict=True)]
    return replace(estimate, subgroups=tuple(subgroups))


def _money(ore: np.ndarray) -> pa.Array:
    """Whole öre as exact SEK (decimal with two places)."""
    if ore.dtype == object:
        return pa.array([Decimal(int(v)).scaleb(-2) for v in ore], _MONEY)
    cents = pa.array(ore, pa.int64()).cast(pa.decimal128(20, 0))
    return pc.multiply(cents, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))).cast(_MONEY)


def _rows(run: _Prepared, chosen: np.ndarray) -> pa.Table:
    """The chosen events' own columns, with the card's rank of their outcome."""
    table = run.event_table
    terms = run.terms
    evidence_name = terms.evidence_column
    take = pa.array(chosen, pa.int64())
    evidence = (
        _text(table.column(evidence_name)).take(take)
        if evidence_name is not None and table.schema.get_field_index(evidence_name) >= 0
        else pa.nulls(len(chosen), pa.string())
    )
    return pa.table(
        {
            IDENTITY_COLUMN: _text(table.column(IDENTITY_COLUMN)).take(take),
            "outcome": _text(table.column(terms.outcome_column)).take(take),
            "achieved_on": pa.array(run.events.day[chosen].astype("datetime64[D]"), pa.date32()),
            "evidence": evidence,
            "_rank": pa.array(run.events.outcome[chosen], pa.int64()),
        }
    )


_ORDER = [
    ("achieved_on", "ascending"),
    (IDENTITY_COLUMN, "ascending"),
    ("_rank", "ascending"),
    ("evidence", "ascending"),
]


def _sorted(table: pa.Table, keys: list[tuple[str, str]]) -> pa.Table:
    order = pc.sort_indices(table, sort_keys=[(name, way, "at_start") for name, way in keys])
    return table.take(order).drop_columns(["_rank"])


def rate_card_detail(spec: EvaluationSpec, tables: TableProvider, context: Any) -> RateCardDetail:
    """Every event of the rate card ``spec``, paid (with its amount) or not (with its
    reason), under the same rules and data as :func:`run_rate_card`; pseudonyms only."""
    run = _prepare(spec, tables, context)
    count = run.count
    paid = np.flatnonzero(count.counted)
    caps = np.array([None, *CAPS], dtype=object)
    counted = _rows(run, paid).append_column("price_sek", _money(count.price[paid]))
    counted = counted.append_column("paid_sek", _money(count.paid[paid]))
    counted = counted.append_column("capped_by", pa.array(caps[count.capped_by[paid]], pa.string()))
    other = np.flatnonzero(~count.counted)
    names = np.array(REASONS, dtype=object)[count.reason[other].astype(np.int64) - 1]
    over = count.reason[other] >= 1 + REASONS.index("over_participant_cap")
    prices = _money(count.price[other])
    uncounted = _rows(run, other).append_column("reason", pa.array(names, pa.string()))
    uncounted = uncounted.append_column(
        "price_sek", pc.if_else(pa.array(over), prices, pa.nulls(len(other), _MONEY))
    )
    return RateCardDetail(
        _sorted(counted, _ORDER),
        _sorted(uncounted, [*_ORDER, ("reason", "ascending")]),
    )
