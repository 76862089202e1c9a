"""Reads: statements, comments, keys, the contract's ledger entries, and the finance view.

The finance figures are computed by ``utfall.services.finance`` from a final
(or the latest) statement's inputs and the contract's finance plan, with the
plan's cost reports replaced by the imported ones when there are any.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from utfall.core.contracts.yamlio import read_yaml
from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Settlement, SettlementStatus
from utfall.platform.imports.models import DataRecord
from utfall.platform.permissions import Action, require
from utfall.platform.settlements.models import EvaluatorKey, FinancePlan, LedgerRecord

__all__ = [
    "evaluator_keys",
    "explanation_rows",
    "finance_plan_latest",
    "finance_report_for",
    "finance_simulation",
    "settlement_get",
    "settlement_list",
    "statement_facts_text",
]


def settlement_list(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[Settlement]:
    """The contract's statements, newest first."""
    require(user, Action.VIEW_SETTLEMENTS, contract)
    return contract.settlements.select_related(
        "created_by", "signed_by", "version"
    ).prefetch_related("corrections")


def settlement_get(*, user: AbstractBaseUser, contract: Contract, pk: int) -> Settlement:
    """One statement of the contract (Settlement.DoesNotExist if not there)."""
    return settlement_list(user=user, contract=contract).get(pk=pk)


def evaluator_keys() -> QuerySet[EvaluatorKey]:
    """Every evaluator's public key (public information)."""
    return EvaluatorKey.objects.select_related("user")


def contract_ledger(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[LedgerRecord]:
    """The ledger entries about the contract, oldest first."""
    require(user, Action.VIEW_AUDIT, contract)
    return LedgerRecord.objects.filter(contract_identifier=contract.identifier).order_by("sequence")


def explanation_rows(settlement: Settlement) -> list[dict[str, Any]]:
    """The explanation trees as indented rows (figure, value, formula or origin, details).

    A figure used in several places is explained in full the first time; later
    rows say "see above" instead of repeating its subtree.
    """
    rows: list[dict[str, Any]] = []
    explained: set[str] = set()

    def walk(node: Mapping[str, Any], depth: int) -> None:
        details = node.get("details") or {}
        ci_name = next((k for k in details if k.startswith("ci_")), "")
        children = node.get("children", [])
        repeated = node["name"] in explained and bool(children)
        rows.append(
            {
                "depth": depth,
                "indent": depth * 1.5,
                "name": node["name"],
                "kind": node["kind"],
                "value": node["value"],
                "formula": " ".join((node.get("formula") or "").split()),
                "origin": node.get("origin") or "",
                "notes": [] if repeated else node.get("notes") or [],
                "ci": details.get(ci_name) if ci_name else None,
                "ci_name": ci_name,
                "repeated": repeated,
            }
        )
        if repeated:
            return
        explained.add(node["name"])
        for child in children:
            walk(child, depth + 1)

    for tree in (settlement.result.get("explanation") or {}).values():
        walk(tree, 0)
    return rows


def evaluations_of(settlement: Settlement) -> list[dict[str, Any]]:
    """The evaluated inputs with their estimates and confidence intervals."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Mapping[str, Any]) -> None:
        details = node.get("details") or {}
        if node["kind"] == "input" and "method" in details and node["name"] not in found:
            ci_name = next((k for k in details if k.startswith("ci_")), "")
            found[node["name"]] = {
                "name": node["name"],
                "value": node["value"],
                "origin": node.get("origin") or "",
                "method": details.get("method"),
                "estimate": details.get("estimate"),
                "std_error": details.get("std_error"),
                "ci_name": ci_name,
                "ci": details.get(ci_name),
                "n_treated": details.get("n_treated"),
                "n_control": details.get("n_control"),
                "data": details.get("data"),
                "data_sha256": details.get("data_sha256"),
            }
        for child in node.get("children", []):
            walk(child)

    for tree in (settlement.result.get("explanation") or {}).values():
        walk(tree)
    return list(found.values())


def finance_plan_latest(contract: Contract) -> FinancePlan | None:
    """The newest finance plan of the contract."""
    return contract.finance_plans.first()


def statement_facts_text(settlement: Settlement) -> str:
    """Every input of a statement as a facts file (JSON is YAML), to settle again quickly."""
    return json.dumps(settlement.result["inputs"], ensure_ascii=False, sort_keys=True) + "\n"


def _imported_cost_reports(contract: Contract) -> list[dict[str, Any]]:
    by_date: dict[Any, dict[str, Decimal]] = defaultdict(dict)
    for date, category, amount in DataRecord.objects.filter(
        contract=contract, kind="cost_reports"
    ).values_list("date", "category", "amount"):
        by_date[date][category] = by_date[date].get(category, Decimal(0)) + (amount or 0)
    return [
        {
            "date": date.isoformat(),
            "amount_sek": str(sum(parts.values(), Decimal(0))),
            "by_category": {k: str(v) for k, v in sorted(parts.items())},
        }
        for date, parts in sorted(by_date.items())
    ]


def _plan_text(plan: FinancePlan, contract: Contract) -> tuple[str, bool]:
    """The plan, with the imported cost reports in place of its own if there are any."""
    reports = _imported_cost_reports(contract)
    if not reports:
        return plan.text, False
    try:
        data = read_yaml(plan.text, source="finance plan", what="the finance plan").data
    except ValueError as error:
        raise UserError(f"the finance plan cannot be read: {error.args[0]}") from None
    if not isinstance(data, dict):
        raise UserError("the finance plan is not a mapping")
    data = {**data, "cost_reports": reports}
    return json.dumps(data, default=str, ensure_ascii=False), True


def _basis(contract: Contract) -> Settlement | None:
    final = contract.settlements.filter(status=SettlementStatus.SIGNED).order_by("-signed_at")
    return final.first() or contract.settlements.order_by("-created_at").first()


def finance_report_for(*, user: AbstractBaseUser, contract: Contract) -> dict[str, Any] | None:
    """Drawdowns, cash flows, IRR and multiple for the newest final (else newest) statement.

    None when there is no plan or no statement yet.
    """
    from utfall.services.finance import finance_cashflows

    require(user, Action.VIEW_SETTLEMENTS, contract)
    plan = finance_plan_latest(contract)
    settlement = _basis(contract)
    if plan is None or settlement is None:
        return None
    plan_text, imported = _plan_text(plan, contract)
    with tempfile.TemporaryDirectory(prefix="utfall-finance-") as temporary:
        folder = Path(temporary)
        contract_path = folder / f"{contract.identifier}.yaml"
        contract_path.write_text(settlement.version.text, encoding="utf-8")
        plan_path = folder / "plan.yaml"
        plan_path.write_text(plan_text, encoding="utf-8")
        facts_path = folder / "facts.yaml"
        facts_path.write_text(statement_facts_text(settlement), encoding="utf-8")
        _settled, report, loaded = finance_cashflows(
            contract_path=contract_path, plan_path=plan_path, facts_path=facts_path
        )
    categories = sorted({c for d in report.drawdowns for c in d.reported_by_category})
    return {
        "settlement": settlement,
        "plan": plan,
        "imported_reports": imported,
        "report": report,
        "financier": loaded.financier,
        "commissioner": loaded.commissioner,
        "categories": categories,
        "drawdowns": [
            {
                "row": d,
                "by_category": [d.reported_by_category.get(c, Decimal(0)) for c in categories],
            }
            for d in report.drawdowns
        ],
        "irr_percent": None if report.irr is None else round(report.irr * 100, 2),
        "totals": [(party, inflow, outflow) for party, (inflow, outflow) in report.totals.items()],
    }


def finance_simulation(
    *,
    user: AbstractBaseUser,
    contract: Contract,
    distributions: list[str],
    size: int,
    seed: int,
) -> Any:
    """Monte Carlo of the payouts (``utfall simulate`` on the platform); fixed inputs from the
    newest statement, the plan's schedule for the IRR when there is a plan."""
    from utfall.services.finance import finance_simulate

    require(user, Action.VIEW_SETTLEMENTS, contract)
    settlement = _basis(contract)
    version = settlement.version if settlement else contract.versions.order_by("-number").first()
    if version is None:
        raise UserError("the contract has no version")
    plan = finance_plan_latest(contract)
    with tempfile.TemporaryDirectory(prefix="utfall-simulate-") as temporary:
        folder = Path(temporary)
        contract_path = folder / f"{contract.identifier}.yaml"
        contract_path.write_text(version.text, encoding="utf-8")
        facts_path = None
        if settlement is not None:
            facts_path = folder / "facts.yaml"
            facts_path.write_text(statement_facts_text(settlement), encoding="utf-8")
        plan_path = None
        if plan is not None:
            plan_path = folder / "plan.yaml"
            plan_path.write_text(_plan_text(plan, contract)[0], encoding="utf-8")
        return finance_simulate(
            contract_path=contract_path,
            distributions=distributions,
            facts_path=facts_path,
            size=size,
            seed=seed,
            plan_path=plan_path,
        )
