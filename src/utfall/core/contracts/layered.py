"""Layered contracts: a contract whose inputs are other contracts' outputs or inputs.

An input declares ``from_contract: {contract: ID, output: NAME}`` (or ``input: NAME``,
e.g. an input the upstream contract's evaluation decides). This module checks such
links against the upstream contracts themselves and puts a set of contracts in the
order they are settled (upstream first). It is pure: the contracts come in compiled,
nothing is read.

The value travels in the downstream contract's facts, either plain (a test case, a
re-settlement of a statement's recorded inputs) or *linked*: a mapping ``{value: …,
settlement: SHA-256}`` naming the upstream settlement it was taken from, which the
engine puts into the input's explanation (:func:`linked_value`).
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from utfall.core.contracts.model import NUMERIC_TYPES, Contract, UpstreamLink
from utfall.core.contracts.values import Term
from utfall.errors import ContractInvalid, Finding, UserError

__all__ = [
    "LINK_KEYS",
    "check_links",
    "link_findings",
    "linked_value",
    "settlement_order",
    "upstream_term",
]

LINK_KEYS = frozenset({"value", "settlement"})
"""The keys of a linked value in a downstream contract's facts."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


def upstream_term(upstream: Contract, link: UpstreamLink) -> Term | None:
    """The upstream output or input a link names (None when there is none)."""
    space: Mapping[str, Term] = upstream.outputs if link.kind == "output" else upstream.inputs
    return space.get(link.name)


def _compatible(upstream: Term, downstream: Term) -> str | None:
    """Why the upstream value cannot be the downstream input (None when it can)."""

    def element(given: str, wanted: str) -> bool:
        return given == wanted or (wanted == "number" and given in NUMERIC_TYPES)

    if upstream.type == "series" or downstream.type == "series":
        if upstream.type != downstream.type:
            return f"one is a series and the other {upstream.type if downstream.type == 'series' else downstream.type}"
        if upstream.length != downstream.length:
            return f"the series have {upstream.length} and {downstream.length} values"
        if not element(upstream.element_type, downstream.element_type):
            return (
                f"series of {upstream.element_type} cannot be series of {downstream.element_type}"
            )
        return None
    if not element(upstream.type, downstream.type):
        return f"{upstream.type} cannot be {downstream.type}"
    if upstream.type == "choice" and upstream.choices and downstream.choices:
        extra = sorted(set(upstream.choices) - set(downstream.choices))
        if extra:
            return f"the upstream choice has {', '.join(extra)}, which the input does not allow"
    return None


def link_findings(contract: Contract, upstreams: Mapping[str, Contract]) -> list[Finding]:
    """Every problem of ``contract``'s links against the upstream contracts (by id): an
    unknown contract, an unknown output or input, a type that does not fit. Each finding
    names the field (``inputs.NAME.from_contract…``) and, when known, its line."""
    findings: list[Finding] = []

    def finding(code: str, message: str, path: tuple[Any, ...]) -> Finding:
        if contract.yaml is not None:
            return contract.yaml.finding(code, message, path)
        return Finding(code, message, path=".".join(str(p) for p in path))

    for name, link in contract.upstream_links().items():
        base: tuple[Any, ...] = ("inputs", name, "from_contract")
        upstream = upstreams.get(link.contract)
        if upstream is None:
            known = ", ".join(sorted(upstreams)) or "none given"
            findings.append(
                finding(
                    "unknown-upstream",
                    f"input {name!r} takes from contract {link.contract!r}, which is not among "
                    f"the upstream contracts ({known})",
                    (*base, "contract"),
                )
            )
            continue
        term = upstream_term(upstream, link)
        if term is None:
            space = upstream.outputs if link.kind == "output" else upstream.inputs
            findings.append(
                finding(
                    "unknown-upstream-name",
                    f"input {name!r}: contract {link.contract!r} has no {link.kind} "
                    f"{link.name!r} (its {link.kind}s: {', '.join(space) or 'none'})",
                    (*base, link.kind),
                )
            )
            continue
        why = _compatible(term, contract.inputs[name])
        if why is not None:
            findings.append(
                finding(
                    "link-type",
                    f"input {name!r} is {contract.inputs[name].describe_type()} but "
                    f"{link.describe()} is {term.describe_type()}: {why}",
                    (*base, link.kind),
                )
            )
    return findings


def check_links(contract: Contract, upstreams: Mapping[str, Contract]) -> None:
    """Raise :class:`ContractInvalid` with every problem of ``contract``'s links."""
    findings = link_findings(contract, upstreams)
    if findings:
        raise ContractInvalid(
            f"{contract.source}: {len(findings)} problem(s) with the contracts it takes from",
            findings,
        )


def settlement_order(contracts: Sequence[Contract]) -> tuple[str, ...]:
    """The ids of ``contracts`` in the order they are settled: every upstream contract
    before the contracts that take from it (links to contracts not in the set are left to
    :func:`check_links`). A cycle is a :class:`UserError` naming it."""
    ids = [c.id for c in contracts]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UserError(f"contract {', '.join(duplicates)} is given more than once")
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for contract in contracts:
        ups = {link.contract for link in contract.upstream_links().values()}
        sorter.add(contract.id, *(u for u in sorted(ups) if u in ids))
    try:
        return tuple(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = list(error.args[1])
        shown = " → ".join(reversed(cycle))
        raise UserError(
            f"the contracts take from each other in a cycle: {shown}; a layered contract "
            "must be settled after the contracts it takes from"
        ) from None


def linked_value(raw: Any) -> tuple[Any, str | None]:
    """A downstream fact as ``(value, upstream settlement SHA-256)``: a linked value
    ``{value: …, settlement: …}`` is unwrapped; anything else is a plain value (None).
    A mapping with other keys is a ValueError in words."""
    if not isinstance(raw, Mapping):
        return raw, None
    keys = set(map(str, raw))
    if keys != LINK_KEYS:
        raise ValueError(
            "a value taken from another contract is written {value: …, settlement: SHA-256}"
            f" (got the keys {', '.join(sorted(keys)) or 'none'})"
        )
    sha = str(raw["settlement"]).strip().lower()
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"'settlement' is not a SHA-256 (64 hex digits): {raw['settlement']!r}")
    return raw["value"], sha
