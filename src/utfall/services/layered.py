"""Layered contracts: settle a set of contracts in order, each taking its upstream figures.

A contract's input may come from another contract (``from_contract``). Such a contract is
settled after the contracts it takes from: :func:`contracts_settle` puts a set of contracts
in dependency order (a cycle is an error naming it), settles each through the one pipeline
(:func:`~utfall.services.contracts.contract_settle`) and hands every downstream contract
its upstream values *linked*, ``{value, settlement}``, so its explanation names the
upstream settlement (the SHA-256 of its settlement document, as a bundle's statement and
the platform's statement record it). :func:`link_uses` says, the other way round, which
downstream inputs used an upstream settlement.

Like the other services this takes parsed objects — compiled contracts, facts, table
providers, settlement documents — never a path: the CLI reads the files, the platform its
signed statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from utfall.core.contracts import Contract, Settlement
from utfall.core.contracts.layered import check_links, linked_value, settlement_order
from utfall.core.ledger import canonical_sha256
from utfall.errors import UserError
from utfall.services.contracts import Facts, SettlementRun, contract_settle
from utfall.services.tables import TableProvider

__all__ = [
    "LayeredRun",
    "LinkUse",
    "UpstreamSettlement",
    "contracts_settle",
    "facts_linked",
    "link_uses",
    "upstream_from_bundle",
    "upstream_from_settlement",
]


@dataclass(frozen=True)
class UpstreamSettlement:
    """An upstream contract's settlement as a downstream contract takes from it.

    ``document`` is the settlement's JSON form (``settlement_document``: inputs and outputs
    as exact text), ``sha256`` its canonical SHA-256; ``label`` says where it was found
    (a bundle, a statement of the platform) for messages.
    """

    contract: Contract
    document: Mapping[str, Any]
    sha256: str
    label: str | None = None


@dataclass(frozen=True)
class LinkUse:
    """One downstream input that took an upstream figure: ``downstream``'s ``input`` =
    ``upstream``'s ``kind`` (output or input) ``name``, from the settlement ``sha256``."""

    upstream: str
    kind: str
    name: str
    downstream: str
    input: str
    value: Any
    sha256: str

    def describe_downstream(self) -> str:
        """``used by contract X input y`` as the upstream explanation says it."""
        return f"used by contract {self.downstream} input {self.input}"


def upstream_from_settlement(
    settlement: Settlement, *, label: str | None = None
) -> UpstreamSettlement:
    """A settlement just computed, as an upstream for the contracts that take from it."""
    from utfall.services.bundles import settlement_document

    document = settlement_document(settlement)
    return UpstreamSettlement(settlement.contract, document, canonical_sha256(document), label)


def upstream_from_bundle(
    data: Mapping[str, Any], *, source: str = "the bundle"
) -> UpstreamSettlement:
    """The settlement a parsed bundle (``bundle_parse``) records, as an upstream: the value
    is the signed settlement part, its SHA-256 the one the evaluator's statement names.
    Check the bundle with ``utfall verify`` first: this reads, it does not verify."""
    from utfall.core.contracts import parse_contract

    try:
        contract = parse_contract(data["contract"]["text"], source=f"{source}: contract")
        document = data["settlement"]
        sha = str(data["statement"]["parts"]["settlement"])
    except (KeyError, TypeError):
        raise UserError(
            f"{source}: not a settlement bundle (no contract, settlement or statement)"
        ) from None
    if canonical_sha256(document) != sha:
        raise UserError(
            f"{source}: its settlement does not have the SHA-256 its signed statement names; "
            "check it with `utfall verify`"
        )
    return UpstreamSettlement(contract, document, sha, source)


def _upstream_value(upstream: UpstreamSettlement, kind: str, name: str) -> Any:
    space = upstream.document.get("outputs" if kind == "output" else "inputs") or {}
    if name not in space:
        raise UserError(
            f"{upstream.label or 'the settlement'} of contract {upstream.contract.id} has no "
            f"{kind} {name!r}"
        )
    return space[name]


def facts_linked(
    contract: Contract,
    facts: Facts | None,
    upstreams: Mapping[str, UpstreamSettlement],
    *,
    missing_hint: str = "settle that contract first and give its settlement",
) -> Facts:
    """``facts`` with every input taken from another contract added, linked to the upstream
    settlement it comes from (``{value, settlement}``).

    The links are checked against the upstream contracts (unknown contract, output or
    input, a type that does not fit: ``ContractInvalid`` naming the field). An upstream not
    in ``upstreams`` is a :class:`UserError` naming the input, the contract it takes from and
    ``missing_hint``; so is a fact that gives such an input by hand (it comes from the
    upstream settlement, not from the facts) — unless it is already linked, as a bundle's
    facts record it.
    """
    facts = facts or Facts()
    links = contract.upstream_links()
    values = dict(facts.values)
    missing: list[str] = []
    for name, link in links.items():
        if name in values:
            _, sha = (
                linked_value(values[name]) if isinstance(values[name], Mapping) else (None, None)
            )
            if sha is None:
                raise UserError(
                    f"{facts.source or 'the facts'}: input {name!r} comes from "
                    f"{link.describe()}; it is taken from that contract's settlement, not "
                    "given in the facts"
                )
            continue
        if link.contract not in upstreams:
            missing.append(f"input {name!r} comes from {link.describe()}")
    if missing:
        raise UserError(f"{contract.id}: {'; '.join(missing)}: {missing_hint}")
    check_links(contract, {c: u.contract for c, u in upstreams.items()})
    for name, link in links.items():
        if name in values:
            continue
        upstream = upstreams[link.contract]
        values[name] = {
            "value": _upstream_value(upstream, link.kind, link.name),
            "settlement": upstream.sha256,
        }
    return Facts(values, None, facts.source, facts.lines)


def link_uses(
    upstream: UpstreamSettlement, downstream: Iterable[tuple[Contract, Settlement]]
) -> list[LinkUse]:
    """The inputs of the downstream settlements that took a figure of ``upstream``'s
    settlement (matched by its SHA-256, as their explanations record it)."""
    uses = []
    for contract, settlement in downstream:
        for name, link in contract.upstream_links().items():
            if link.contract != upstream.contract.id or name not in settlement.explanations:
                continue
            node = settlement.explanations[name]
            if node.details.get("settlement_sha256") != upstream.sha256:
                continue
            uses.append(
                LinkUse(
                    upstream.contract.id,
                    link.kind,
                    link.name,
                    contract.id,
                    name,
                    settlement.inputs[name],
                    upstream.sha256,
                )
            )
    return uses


@dataclass(frozen=True)
class LayeredRun:
    """The settlements of a set of contracts, in the order they were settled."""

    order: tuple[str, ...]
    runs: Mapping[str, SettlementRun]
    upstreams: Mapping[str, UpstreamSettlement] = field(default_factory=dict)
    facts: Mapping[str, Facts] = field(default_factory=dict)

    def used_by(self, contract_id: str) -> list[LinkUse]:
        """The downstream inputs that took a figure of ``contract_id``'s settlement."""
        upstream = self.upstreams.get(contract_id)
        if upstream is None:
            return []
        others = [
            (run.settlement.contract, run.settlement)
            for name, run in self.runs.items()
            if name != contract_id
        ]
        return link_uses(upstream, others)


def contracts_settle(
    contracts: Sequence[Contract],
    *,
    facts: Mapping[str, Facts | None],
    tables: Mapping[str, TableProvider | None] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    until: dt.date | None = None,
    settled: Mapping[str, UpstreamSettlement] | None = None,
    missing_hint: str = "give that contract too, with its facts",
) -> LayeredRun:
    """Settle ``contracts`` upstream first, each on its facts (by contract id), tables and
    what-if overrides; ``settled`` are upstream settlements given as they are (a signed
    bundle, a statement), not settled again. A downstream contract's ``facts`` (as
    :attr:`LayeredRun.facts` records them) hold its upstream values linked."""
    order = settlement_order(contracts)
    by_id = {c.id: c for c in contracts}
    upstreams: dict[str, UpstreamSettlement] = dict(settled or {})
    runs: dict[str, SettlementRun] = {}
    used_facts: dict[str, Facts] = {}
    for identifier in order:
        contract = by_id[identifier]
        given = facts.get(identifier)
        if contract.upstream_links():
            given = facts_linked(contract, given, upstreams, missing_hint=missing_hint)
        used_facts[identifier] = given or Facts()
        run = contract_settle(
            contract,
            facts=given,
            tables=(tables or {}).get(identifier),
            overrides=(overrides or {}).get(identifier),
            until=until,
        )
        runs[identifier] = run
        upstreams[identifier] = upstream_from_settlement(run.settlement)
    return LayeredRun(order, runs, upstreams, used_facts)
