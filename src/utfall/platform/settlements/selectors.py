"""Reads: statements, comments, keys, the contract's ledger entries, and the finance view.

The finance figures are computed by ``utfall.services.finance`` on objects: the
stored finance plan's text parsed against the contract, the settlement of a final
(or the latest) statement — its recorded inputs settled again, exactly — and, for a
plan whose cost reports are a declared table, the contract's stored rows
(``StoredTables``). Before there is a statement the finance view shows what the
plan alone says: the drawdowns and the flows that need no settlement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Settlement, SettlementStatus
from utfall.platform.permissions import Action, require
from utfall.platform.settlements.models import EvaluatorKey, FinancePlan, LedgerRecord
from utfall.services.evaluation import DETAILS

__all__ = [
    "evaluator_keys",
    "explanation_rows",
    "finance_break_even_for",
    "finance_plan_latest",
    "finance_report_for",
    "finance_simulation",
    "ledger_status",
    "settlement_get",
    "settlement_list",
    "statement_facts_text",
    "statement_rows",
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
    """The evaluated inputs with their estimates, intervals and the tables they read (each
    with its declared label in the active language and its SHA-256)."""
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.platform.i18n import active_language

    document = parsed_version(settlement.version)
    english = active_language() == "en"
    found: dict[str, dict[str, Any]] = {}

    def label(name: str) -> str:
        try:
            return document.data.table(name).label.text("en" if english else "sv")
        except KeyError:
            return name

    def evaluation_label(name: str) -> str:
        declared = document.document.evaluations.get(name)
        if declared is None or declared.label is None:
            return name
        return declared.label.en if english else declared.label.sv

    def walk(node: Mapping[str, Any]) -> None:
        details = node.get("details") or {}
        if node["kind"] == "input" and "method" in details and node["name"] not in found:
            ci_name = next((k for k in details if k.startswith("ci_")), "")
            evaluation = details.get("evaluation")
            found[node["name"]] = {
                "name": node["name"],
                "value": node["value"],
                "origin": node.get("origin") or "",
                "evaluation": evaluation,
                "evaluation_label": evaluation_label(evaluation) if evaluation else None,
                "method": details.get("method"),
                "estimate": details.get("estimate"),
                "std_error": details.get("std_error"),
                "ci_name": ci_name,
                "ci": details.get(ci_name),
                "n_treated": details.get("n_treated"),
                "n_control": details.get("n_control"),
                "n_obs": details.get("n_obs"),
                "tables": [
                    {"name": name, "label": label(name), "sha256": digest}
                    for name, digest in (details.get("tables") or {}).items()
                ],
                "as_of": details.get("data_as_of"),
                "has_rows": evaluation is not None and details.get("method") in DETAILS,
            }
        for child in node.get("children", []):
            walk(child)

    for tree in (settlement.result.get("explanation") or {}).values():
        walk(tree)
    return list(found.values())


def finance_plan_latest(contract: Contract) -> FinancePlan | None:
    """The newest finance plan of the contract."""
    return contract.finance_plans.first()


def _basis(contract: Contract) -> Settlement | None:
    final = contract.settlements.filter(status=SettlementStatus.SIGNED).order_by("-signed_at")
    return final.first() or contract.settlements.order_by("-created_at").first()


def statement_facts_text(settlement: Settlement) -> str:
    """Every input of a statement as a facts file (JSON is YAML), to settle again quickly."""
    return json.dumps(settlement.result["inputs"], ensure_ascii=False, sort_keys=True) + "\n"


def _statement_facts(settlement: Settlement) -> Any:
    """The statement's inputs as facts, exactly (JSON numbers as decimals)."""
    from utfall.services.contracts import facts_parse

    return facts_parse(
        statement_facts_text(settlement), source=f"statement #{settlement.pk}", json_text=True
    )


def _statement_settlement(settlement: Settlement, document: Any) -> Any:
    """The statement's settlement as an object: its recorded inputs (and what-if values)
    settled again on its contract version. No evaluation runs — every input is recorded — and
    the payments must come out as the statement recorded them."""
    from utfall.services.contracts import contract_settle

    result = settlement.result
    overrides = {name: result["parameters"][name] for name in result.get("overridden") or ()}
    settled = contract_settle(
        document, facts=_statement_facts(settlement), overrides=overrides
    ).settlement
    recorded = [(p["id"], Decimal(str(p["amount_sek"]))) for p in result.get("payments", [])]
    if [(p.id, p.amount) for p in settled.payments] != recorded:
        raise UserError(
            f"statement #{settlement.pk}: its payments cannot be reproduced from its inputs"
        )
    return settled


def _finance_plan(plan: FinancePlan, document: Any) -> Any:
    """The stored plan's text, parsed against the contract version it is used with."""
    from utfall.services.finance import finance_plan_parse

    return finance_plan_parse(
        plan.text, source=f"finance plan {plan.sha256[:12]}", contract=document
    )


def _plan_tables(contract: Contract, loaded: Any, document: Any) -> Any:
    """The stored tables for a plan whose cost reports are a declared table (None for a plan
    that lists them); a table without imported rows yet is empty, not an error."""
    if loaded.reports_table is None:
        return None
    from utfall.platform.tables import StoredTables
    from utfall.services.tables import ArrowTables, canonical_schema

    stored = StoredTables(contract)
    name = loaded.reports_table.table
    if stored.has(name):
        return stored
    empty = canonical_schema(document.data.table(name)).empty_table()
    return ArrowTables({name: empty}, origin="no imported rows yet")


def _newest_document(contract: Contract) -> Any:
    from utfall.platform.contracts.selectors import parsed_version

    version = contract.versions.order_by("-number").first()
    if version is None:
        raise UserError("the contract has no version")
    return parsed_version(version)


def finance_report_for(*, user: AbstractBaseUser, contract: Contract) -> dict[str, Any] | None:
    """Drawdowns, cash flows, IRR and multiple for the newest final (else newest) statement.

    Before there is a statement the drawdowns and the flows the plan alone determines are
    reported (``settled`` false; the notes say what waits for a settlement). A plan whose
    cost reports are a declared table draws against the contract's stored rows of it.
    None when there is no plan.
    """
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.services.finance import finance_cashflows, finance_drawdowns

    require(user, Action.VIEW_SETTLEMENTS, contract)
    plan = finance_plan_latest(contract)
    if plan is None:
        return None
    settlement = _basis(contract)
    document = parsed_version(settlement.version) if settlement else _newest_document(contract)
    loaded = _finance_plan(plan, document)
    tables = _plan_tables(contract, loaded, document)
    if settlement is not None:
        report = finance_cashflows(
            _statement_settlement(settlement, document), loaded, tables=tables
        )
    else:
        report = finance_drawdowns(document, loaded, tables=tables)
    categories = sorted({c for d in report.drawdowns for c in d.reported_by_category})
    reports_table = (
        document.data.table(loaded.reports_table.table) if loaded.reports_table else None
    )
    return {
        "settlement": settlement,
        "settled": report.settled,
        "plan": plan,
        "imported_reports": reports_table is not None,
        "reports_table": reports_table,
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


def finance_break_even_for(*, user: AbstractBaseUser, contract: Contract) -> Any:
    """The commissioner's break-even month as the finance view shows it (decision 0258), for
    the pages that show it beside their own figures (the council). None without a plan or a
    statement, or when the commissioner does not break even within the plan."""
    finance = finance_report_for(user=user, contract=contract)
    if finance is None or not finance["settled"]:
        return None
    return finance["report"].break_even


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
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.services.finance import finance_simulate

    require(user, Action.VIEW_SETTLEMENTS, contract)
    settlement = _basis(contract)
    document = parsed_version(settlement.version) if settlement else _newest_document(contract)
    plan = finance_plan_latest(contract)
    loaded = _finance_plan(plan, document) if plan is not None else None
    return finance_simulate(
        document,
        distributions=distributions,
        facts=_statement_facts(settlement) if settlement is not None else None,
        size=size,
        seed=seed,
        plan=loaded,
        tables=_plan_tables(contract, loaded, document) if loaded is not None else None,
    )


def _row_labels(document: Any, evaluation: str) -> dict[str, Any]:
    """Column headings and value labels of a figure's rows, in the active language."""
    from django.utils.translation import gettext as _

    from utfall.core.evaluation.rate_card import REASON_LABELS
    from utfall.platform.i18n import active_language

    english = active_language() == "en"
    spec = document.evaluations[evaluation]
    table = document.data.table(spec.data)

    def declared(name: str) -> tuple[str, dict[str, str]]:
        column = table.column(name)
        choices = {c.value: c.label.en if english else c.label.sv for c in column.choices}
        return (column.label.en if english else column.label.sv), choices

    outcome = str(spec.options.get("outcome_column", "outcome"))
    evidence = spec.options.get("evidence_column", "evidence")
    headings: dict[str, tuple[str, dict[str, str]]] = {
        "participant": (_("Pseudonym"), {}),
        "outcome": declared(outcome),
        "achieved_on": declared(table.date),
        "price_sek": (_("Price (SEK)"), {}),
        "paid_sek": (_("Paid (SEK)"), {}),
        "capped_by": (
            _("Cut by the cap"),
            {"participant": _("per participant"), "outcome": _("per outcome"), "total": _("total")},
        ),
        "reason": (
            _("Reason"),
            {code: pair[1] if english else pair[0] for code, pair in REASON_LABELS.items()},
        ),
    }
    if isinstance(evidence, str) and table.has(evidence):
        headings["evidence"] = declared(evidence)
    return headings


def statement_rows(
    *, user: AbstractBaseUser, settlement: Settlement, evaluation: str, part: str
) -> tuple[str, bytes]:
    """The rows behind one evaluated figure of a statement as CSV (file name, bytes): the
    participants a payment counted or the events it did not, each with its reason, computed
    on the stored rows as of the statement's period end. Pseudonyms only, for the parties
    allowed to see individuals."""
    import csv
    import io

    from utfall.core.exports import spreadsheet_row
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.platform.tables import StoredTables
    from utfall.services.bindings import evaluation_detail

    contract = settlement.contract
    # The platform's rule for pseudonymised rows, not the council's term (decision 0940).
    require(user, Action.VIEW_PARTICIPANTS, contract)
    document = parsed_version(settlement.version)
    spec = document.evaluations.get(evaluation)
    if spec is None or spec.method not in DETAILS:
        raise UserError("this figure has no rows to show")
    detail = evaluation_detail(
        document, StoredTables(contract), evaluation, until=settlement.period_end
    )
    if part not in detail:
        raise UserError(f"choose one of: {', '.join(detail)}")
    table = detail[part]
    headings = _row_labels(document, evaluation)
    names = [n for n in table.column_names if n in headings]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spreadsheet_row(headings[n][0] for n in names))
    columns = [table.column(n).to_pylist() for n in names]
    for values in zip(*columns, strict=True):
        writer.writerow(
            spreadsheet_row(
                "" if value is None else headings[name][1].get(str(value), str(value))
                for name, value in zip(names, values, strict=True)
            )
        )
    name = f"{contract.identifier}-statement-{settlement.pk}-{evaluation}-{part}.csv"
    return name, out.getvalue().encode("utf-8-sig")


def ledger_status() -> dict[str, Any]:
    """Whether the stored ledger holds (its hash chain, and the newest signed tree head), with
    every problem found: shown to every signed-in user, since every party relies on it."""
    from utfall.platform.settlements.ledger import ledger_problems
    from utfall.platform.settlements.models import LogCheckpoint

    problems = ledger_problems()
    newest = LogCheckpoint.objects.order_by("-size").first()
    return {
        "holds": not problems,
        "entries": LedgerRecord.objects.count(),
        "signed_tree_size": newest.size if newest is not None else None,
        "problems": problems[:50],
    }
