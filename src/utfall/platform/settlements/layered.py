"""Layered contracts on the platform: a statement takes its upstream figures from signed
statements.

A contract whose inputs come from other contracts (``from_contract``) is settled after
them: its statement takes each such input from the newest *signed* statement of the
upstream contract (the platform's contract with that identifier), linked to it by the
statement's settlement SHA-256 (:mod:`utfall.services.layered`). The link is written into
the statement's facts text, so it is computed, reviewed and signed with the figures and
travels in the bundle; without a signed upstream statement nothing is computed.

The statement page shows the link both ways (:func:`statement_links`): a downstream
statement "from" the upstream statement it used, an upstream statement "used by" the
downstream statements that took its figures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from utfall.core.contracts import Contract as CoreContract
from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Settlement, SettlementStatus
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.permissions import Action, can
from utfall.services.layered import UpstreamSettlement, facts_linked

__all__ = ["statement_facts_lines", "statement_links", "upstream_statements"]

UNSIGNED = "sign off a statement of contract {contract} first: {why}"
"""The message when an upstream statement is missing (``messages.py`` says it in Swedish)."""


def upstream_statements(document: CoreContract) -> dict[str, tuple[Settlement, UpstreamSettlement]]:
    """Upstream contract id → its newest signed statement, for every contract ``document``
    takes an input from; a :class:`UserError` naming the contract when there is none."""
    found: dict[str, tuple[Settlement, UpstreamSettlement]] = {}
    for name, link in document.upstream_links().items():
        if link.contract in found:
            continue
        why = f"input {name} takes its {link.kind} {link.name}"
        statement = (
            Settlement.objects.filter(
                contract__identifier=link.contract, status=SettlementStatus.SIGNED
            )
            .select_related("version", "contract")
            .order_by("-signed_at", "-pk")
            .first()
        )
        if statement is None:
            raise UserError(UNSIGNED.format(contract=link.contract, why=why))
        upstream = UpstreamSettlement(
            parsed_version(statement.version),
            statement.result,
            statement.sha256,
            f"statement #{statement.pk}",
        )
        found[link.contract] = (statement, upstream)
    return found


def statement_facts_lines(document: CoreContract) -> list[str]:
    """The lines of a statement's facts text for the inputs taken from other contracts:
    each with a comment naming the upstream statement, its value linked to the upstream
    settlement (``{"value": …, "settlement": …}``, JSON, which is YAML)."""
    if not document.upstream_links():
        return []
    statements = upstream_statements(document)
    upstreams = {identifier: pair[1] for identifier, pair in statements.items()}
    linked = facts_linked(document, None, upstreams, missing_hint="sign off its statement first")
    lines = []
    for name, link in document.upstream_links().items():
        statement = statements[link.contract][0]
        lines.append(
            f"# {name}: from {link.describe()}, statement {statement.pk} "
            f"(settlement sha256 {statement.sha256})"
        )
        lines.append(f"{name}: {json.dumps(linked.values[name], ensure_ascii=False)}")
    return lines


def _links_in(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every input of a statement's explanation taken from another contract's settlement."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        details = node.get("details") or {}
        if node.get("kind") == "input" and isinstance(details, Mapping):
            sha = details.get("settlement_sha256")
            if sha and details.get("from_contract"):
                kind = "output" if "output" in details else "input"
                found[str(node.get("name"))] = {
                    "input": str(node.get("name")),
                    "contract": str(details["from_contract"]),
                    "kind": kind,
                    "name": str(details.get(kind, "")),
                    "sha256": str(sha),
                    "value": node.get("value"),
                }
        for child in node.get("children") or []:
            walk(child)

    for tree in (result.get("explanation") or {}).values():
        walk(tree)
    return list(found.values())


def statement_links(
    statement: Settlement, user: AbstractBaseUser | AnonymousUser
) -> dict[str, list[dict[str, Any]]]:
    """The statement's links to other contracts' statements, for its page: ``taken_from``
    (the upstream statement each input came from) and ``used_by`` (the downstream
    statements that took a figure of this one). A statement of a contract the user is not
    a party to is named by its contract's identifier and hash only, without a link."""
    taken_from = []
    for link in _links_in(statement.result or {}):
        upstream = (
            Settlement.objects.filter(contract__identifier=link["contract"], sha256=link["sha256"])
            .select_related("contract")
            .order_by("-pk")
            .first()
        )
        visible = upstream is not None and can(user, Action.VIEW_SETTLEMENTS, upstream.contract)
        taken_from.append({**link, "statement": upstream if visible else None})
    used_by = []
    identifier = statement.contract.identifier
    for contract in Contract.objects.exclude(pk=statement.contract_id).order_by("identifier"):
        version = latest_version(contract)
        if version is None:
            continue
        document = parsed_version(version)
        if not any(link.contract == identifier for link in document.upstream_links().values()):
            continue
        visible = can(user, Action.VIEW_SETTLEMENTS, contract)
        for downstream in contract.settlements.order_by("pk"):
            for link in _links_in(downstream.result or {}):
                if link["contract"] == identifier and link["sha256"] == statement.sha256:
                    used_by.append(
                        {
                            **link,
                            "downstream": contract.identifier,
                            "statement": downstream if visible else None,
                            "status": downstream.get_status_display(),
                        }
                    )
    return {"taken_from": taken_from, "used_by": used_by}
