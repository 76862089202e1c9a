"""``utfall settle --upstream …``: the upstream settlements a layered contract takes from.

A layered contract's inputs may come from other contracts (``from_contract``). The CLI
settles those first, from their files (``--upstream CONTRACT.yaml --upstream-facts
FACTS.yaml``, paired in the order given), or takes a signed upstream bundle as it is
(``--upstream-bundle BUNDLE.json``), and hands the downstream contract its values linked
to the upstream settlement's SHA-256 (:mod:`utfall.services.layered`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from utfall.adapters.files import contract_read, facts_read
from utfall.cli.output import console
from utfall.core.contracts import Contract
from utfall.core.contracts.layered import link_findings
from utfall.errors import ContractInvalid, UserError
from utfall.services.contracts import Facts
from utfall.services.layered import (
    LayeredRun,
    LinkUse,
    UpstreamSettlement,
    contracts_settle,
    facts_linked,
    upstream_from_bundle,
)

__all__ = [
    "MISSING_HINT",
    "Upstream",
    "contracts_readable",
    "links_check_among",
    "upstream_json",
    "upstream_link",
    "upstream_print",
]

MISSING_HINT = (
    "give that contract's settlement: --upstream CONTRACT.yaml --upstream-facts FACTS.yaml "
    "(or --upstream-bundle BUNDLE.json)"
)


class Upstream:
    """The upstream settlements of one ``utfall settle`` run and what they were used for."""

    def __init__(self, run: LayeredRun | None, given: dict[str, UpstreamSettlement]):
        self.run = run
        self.given = given

    @property
    def settlements(self) -> dict[str, UpstreamSettlement]:
        """Every upstream settlement by contract id (settled here or read from a bundle)."""
        found = dict(self.given)
        if self.run is not None:
            found.update(self.run.upstreams)
        return found

    def uses(self, contract: Contract, facts: Facts) -> dict[str, list[LinkUse]]:
        """Upstream contract id → the downstream inputs that took a figure of it."""
        found: dict[str, list[LinkUse]] = {}
        for name, link in contract.upstream_links().items():
            raw = facts.values.get(name)
            if not isinstance(raw, dict):
                continue
            upstream = self.settlements.get(link.contract)
            if upstream is None or raw.get("settlement") != upstream.sha256:
                continue
            found.setdefault(link.contract, []).append(
                LinkUse(
                    link.contract,
                    link.kind,
                    link.name,
                    contract.id,
                    name,
                    raw["value"],
                    upstream.sha256,
                )
            )
        return found


def _bundle(path: Path) -> UpstreamSettlement:
    from utfall.adapters.bundles import bundle_read
    from utfall.services.bundles import bundle_parse

    raw = bundle_read(path)
    return upstream_from_bundle(bundle_parse(raw, source=str(path)), source=str(path))


def upstream_link(
    contract: Contract,
    facts: Facts | None,
    *,
    upstream: list[Path],
    upstream_facts: list[Path],
    upstream_bundle: list[Path],
) -> tuple[Facts | None, Upstream | None]:
    """The downstream facts with the upstream values linked in, and the upstreams; the
    facts unchanged (and None) for a contract that takes from no other contract."""
    if not contract.upstream_links():
        if upstream or upstream_facts or upstream_bundle:
            raise UserError(
                f"{contract.source}: the contract takes no input from another contract; "
                "--upstream, --upstream-facts and --upstream-bundle do not apply"
            )
        return facts, None
    if len(upstream) != len(upstream_facts):
        raise UserError(
            f"{len(upstream)} --upstream contract(s) but {len(upstream_facts)} "
            "--upstream-facts file(s): give each upstream contract its facts, in the same order"
        )
    given: dict[str, UpstreamSettlement] = {}
    for path in upstream_bundle:
        read = _bundle(path)
        given[read.contract.id] = read
    run = None
    if upstream:
        contracts = [contract_read(path) for path in upstream]
        facts_by_id = {c.id: facts_read(f) for c, f in zip(contracts, upstream_facts, strict=True)}
        run = contracts_settle(
            contracts, facts=facts_by_id, settled=given, missing_hint=MISSING_HINT
        )
    upstreams = Upstream(run, given)
    linked = facts_linked(contract, facts, upstreams.settlements, missing_hint=MISSING_HINT)
    return linked, upstreams


def upstream_print(
    upstream: Upstream, contract: Contract, facts: Facts, *, explain: bool = False
) -> None:
    """One line per upstream settlement and, under it, what the downstream took from it;
    with ``explain`` the explanation of each figure taken (of an upstream settled here),
    which says what used it."""
    uses = upstream.uses(contract, facts)
    runs = upstream.run.runs if upstream.run is not None else {}
    for identifier, settled in upstream.settlements.items():
        if identifier not in uses:
            continue
        where = f" ({escape(settled.label)})" if settled.label else ""
        console.print(
            f"[bold]upstream[/] {escape(settled.contract.title)} ({identifier} "
            f"v{escape(settled.contract.version)}){where}: settlement {settled.sha256}"
        )
        for use in uses[identifier]:
            console.print(
                f"  {use.kind} {use.name} = {escape(str(_shown(use.value)))}, "
                f"{escape(use.describe_downstream())}"
            )
            if explain and identifier in runs:
                node = runs[identifier].settlement.explain(use.name)
                for text in node.lines("    "):
                    console.print(escape(text))
                console.print(f"    · {escape(use.describe_downstream())}")


def _shown(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def upstream_json(upstream: Upstream, contract: Contract, facts: Facts) -> list[dict[str, Any]]:
    """The upstream settlements used, for ``--json``."""
    uses = upstream.uses(contract, facts)
    return [
        {
            "contract": identifier,
            "version": settled.contract.version,
            "settlement_sha256": settled.sha256,
            "source": settled.label,
            "used_by": [
                {
                    "contract": use.downstream,
                    "input": use.input,
                    "upstream_kind": use.kind,
                    "upstream_name": use.name,
                    "value": use.value,
                }
                for use in uses[identifier]
            ],
        }
        for identifier, settled in upstream.settlements.items()
        if identifier in uses
    ]


def contracts_readable(paths: list[Path]) -> dict[str, Contract]:
    """The contracts among ``paths`` that compile, by id (the others are reported by the
    caller as they are)."""
    found = {}
    for path in paths:
        try:
            contract = contract_read(path)
        except UserError:
            continue
        found[contract.id] = contract
    return found


def links_check_among(contract: Contract, contracts: dict[str, Contract]) -> None:
    """Check ``contract``'s links to the upstream contracts among ``contracts`` (a link to a
    contract not among them cannot be checked here; settling checks it)."""
    findings = [f for f in link_findings(contract, contracts) if f.code != "unknown-upstream"]
    if findings:
        raise ContractInvalid(
            f"{contract.source}: {len(findings)} problem(s) with the contracts it takes from",
            findings,
        )
