"""The open data held against INDIGO 4.1.0: the field mapping of docs/indigo.md.

INDIGO's schema is not copied (its repository has no licence). This test encodes the
mapping's paths, JSON types and statuses, checks that the page says the same, and holds the
export of every shipped contract and of the fund to it. INDIGO 4.1.0 (tag ``4.1.0`` of
INDIGO-Initiative/indigo-data-standard, ``schema/project.json``): values of the
``object_with_value_*_and_status`` kind and the items of the project's lists carry
``status``, and INDIGO's database keeps them only while it is ``PUBLIC``
(database-app ``indigo/updatedata.py``, ``filter_values``).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from utfall.adapters.files import contract_read
from utfall.core.contracts import settle
from utfall.core.fund import PILOT_BUDGET, Commitment, FundState, Payment, PaymentKind
from utfall.services.knowledge import (
    INDIGO_VERSION,
    KnowledgeFund,
    KnowledgeProject,
    ResultRow,
    SettledPayment,
    fund_document,
    fund_id,
    knowledge_export,
    knowledge_validate,
    project_document,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted((ROOT / "examples" / "contracts").glob("*.yaml"))
MAPPING_PAGE = ROOT / "docs" / "indigo.md"
NORRKOPING = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"
PUBLISHED = date(2026, 12, 1)

# (path, type, status): status "value" = the value carries its own status, "item" = the
# list item holding the path carries it, "" = neither.
PROJECT_MAPPING = [
    ("id", "string", ""),
    ("status", "string", ""),
    ("name", "string", ""),
    ("alternative_names", "string", ""),
    ("stage_development", "string", "value"),
    ("dates/start_date_of_service_provision", "date", "value"),
    ("dates/anticipated_end_date_of_service_provision", "date", "value"),
    ("dates/anticipated_duration_of_service_provision", "number", "value"),
    ("dates/anticipated_completion_date", "date", "value"),
    ("jurisdiction/jurisdiction", "string", "value"),
    ("overall_project_finance/total_investment_commitment/currency", "string", "value"),
    ("overall_project_finance/total_investment_commitment/amount/exact", "number", "value"),
    ("overall_project_finance/maximum_potential_outcome_payment_v2/currency", "string", "value"),
    ("overall_project_finance/maximum_potential_outcome_payment_v2/amount", "number", "value"),
    ("overall_project_finance/maximum_potential_loss", "string", "value"),
    ("overall_project_finance/maximum_potential_return", "string", "value"),
    ("overall_project_finance/configuration_contracting_parties", "string", "value"),
    ("overall_project_finance/total_outcome_payments_made/currency", "string", "value"),
    ("overall_project_finance/total_outcome_payments_made/amount", "number", "value"),
    ("purpose_and_classifications/social_challenge", "string", "value"),
    ("purpose_and_classifications/intervention", "string", "value"),
    ("purpose_and_classifications/policy_sector", "string", ""),
    ("service_and_beneficiaries/target_population", "string", "value"),
    (
        "service_and_beneficiaries/targeted_number_service_users_or_beneficiaries_total",
        "number",
        "value",
    ),
    (
        "service_and_beneficiaries/unit_type_targeted_service_users_or_beneficiaries",
        "string",
        "value",
    ),
    (
        "service_and_beneficiaries/unit_description_of_service_user_or_beneficiaries",
        "string",
        "value",
    ),
    ("organisations[]/id", "string", ""),
    ("organisations[]/name", "string", ""),
    ("organisations[]/country", "string", ""),
    ("organisations[]/org-ids/primary", "string", ""),
    ("outcome_funds[]/id", "string", "item"),
    ("outcome_payment_commitments[]/organisation_id", "reference", "item"),
    (
        "outcome_payment_commitments[]/maximum_potential_outcome_payment/amount",
        "number",
        "",
    ),
    ("outcome_payment_commitments[]/period/start_date", "date", ""),
    ("outcome_payment_commitments[]/total_outcome_payments/amount", "number", ""),
    ("investments[]/organisation_id", "reference", "item"),
    ("investments[]/investment_commitment/amount/exact", "number", ""),
    ("investments[]/maximum_potential_loss", "string", ""),
    ("investments[]/maximum_potential_return", "number", ""),
    ("service_provisions[]/organisation_id", "reference", "item"),
    ("service_provisions[]/planned_service/start_date", "date", ""),
    ("intermediary_services[]/organisation_id", "reference", "item"),
    ("outcome_metrics[]/id", "string", "item"),
    ("outcome_metrics[]/definition", "string", ""),
    ("outcome_metrics[]/target_population", "string", ""),
    (
        "outcome_metrics[]/targeted_number_of_service_users_or_beneficiaries_total",
        "number",
        "",
    ),
    ("outcome_metrics[]/outcome_validation_method", "string", ""),
    ("outcome_metrics[]/data_source_for_outcome_validation", "string", ""),
    ("outcome_metrics[]/policy_sector", "string", ""),
    ("outcome_pricings[]/outcome_metric_id", "reference", "item"),
    ("outcome_pricings[]/currency", "string", ""),
    ("outcome_pricings[]/price_description", "string", ""),
    ("outcome_payment_plans[]/id", "string", "item"),
    ("outcome_payment_plans[]/period/start_date", "date", ""),
    ("outcome_payments[]/outcome_payment_plan_id", "reference", "item"),
    ("outcome_payments[]/outcome_metric_id", "reference", ""),
    ("outcome_payments[]/period/start_date", "date", ""),
    ("outcome_payments[]/payer_organisation_id", "reference", ""),
    ("outcome_payments[]/recipient_organisation_id", "reference", ""),
    ("outcome_payments[]/type", "string", ""),
    ("outcome_payments[]/money/amount", "number", ""),
    ("transactions[]/date", "date", "item"),
    ("transactions[]/sending_organisation_id", "reference", ""),
    ("transactions[]/receiving_organisation_id", "reference", ""),
    ("transactions[]/transaction_type", "string", ""),
    ("transactions[]/money/amount", "number", ""),
    ("results[]/outcome_metric_id", "reference", "item"),
    ("results[]/result_type", "string", ""),
    ("results[]/period/start_date", "date", ""),
    ("results[]/number_engaged_in_impact_bond", "number", ""),
    ("results[]/number_with_positive_social_outcomes", "number", ""),
    ("results[]/outcomes_validator_organisation_ids", "string", ""),
    ("documents[]/url", "string", "item"),
    ("sources[]/id", "string", "item"),
    ("sources[]/name", "string", ""),
]
FUND_MAPPING = [
    ("id", "string", ""),
    ("status", "string", ""),
    ("name", "string", ""),
    ("stage_development", "string", ""),
    ("host_institution_of_outcome_fund", "string", ""),
    ("mechanism", "string", ""),
    ("dates/launch_date", "date", ""),
    ("dates/anticipated_end_date", "date", ""),
    ("purpose_and_classifications/purpose", "string", ""),
    (
        "dimensions_of_scale/total_outcome_fund_value_outcomes_funding/aspiration/amount",
        "number",
        "",
    ),
    ("dimensions_of_scale/total_outcome_fund_value_outcomes_funding/actual/amount", "number", ""),
    ("dimensions_of_scale/number_of_outcome_contracts/actual", "number", ""),
    ("dimensions_of_scale/number_of_contributing_outcome_funders/actual", "number", ""),
    ("country", "string", ""),
    ("organisations[]/organisation_id", "reference", ""),
    ("geographic_areas_for_outcome_payment[]/country", "string", ""),
]
DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")


def _page_table(section: str) -> list[tuple[str, str, str]]:
    """The mapping table under ``## section`` of the page: (path, type, status)."""
    text = MAPPING_PAGE.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`"):
            status = "" if cells[2] == "—" else cells[2]
            rows.append((cells[0].strip("`"), cells[1], status))
    return rows


def test_the_mapping_page_and_this_test_agree():
    assert f"release\n{INDIGO_VERSION}" in MAPPING_PAGE.read_text(encoding="utf-8")
    assert _page_table("Project") == PROJECT_MAPPING
    assert _page_table("Fund") == FUND_MAPPING


def _found(document: Any, path: str) -> list[tuple[Any, dict | None]]:
    """Every node at ``path`` with the list item holding it (None outside lists)."""
    nodes: list[tuple[Any, dict | None]] = [(document, None)]
    for part in path.split("/"):
        is_list = part.endswith("[]")
        key = part[:-2] if is_list else part
        following = []
        for node, item in nodes:
            if not isinstance(node, dict) or key not in node:
                continue
            value = node[key]
            if is_list:
                following.extend((entry, entry) for entry in value)
            else:
                following.append((value, item))
        nodes = following
    return nodes


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and bool(DATE.match(value))
    return isinstance(value, str) and bool(value)


def _shape_problems(document: dict, mapping: list[tuple[str, str, str]]) -> list[str]:
    problems = []
    for path, kind, status in mapping:
        for node, item in _found(document, path):
            wrapped = isinstance(node, dict) and "value" in node
            value = node["value"] if wrapped else node
            if not _type_ok(value, kind):
                problems.append(f"{path}: {value!r} is not a {kind}")
            if status == "value" and not (wrapped and node.get("status") == "PUBLIC"):
                problems.append(f"{path}: the value has no status PUBLIC")
            if status == "item" and (item is None or item.get("status") != "PUBLIC"):
                problems.append(f"{path}: the list item has no status PUBLIC")
            if status != "value" and wrapped and "status" in node:
                problems.append(f"{path}: INDIGO gives this value no status")
    return problems


def _settled(contract) -> list[SettledPayment]:
    """The payments of settling the contract on its first embedded test case, signed."""
    if not contract.payments or not contract.tests:
        return []
    case = contract.tests[0]
    settlement = settle(contract, case.inputs, overrides=case.parameters)
    return [
        SettledPayment(
            line.id,
            line.payer,
            line.payee,
            line.amount,
            date(2025, 7, 10),
            period_start=date(2025, 1, 1),
            period_end=date(2025, 6, 30),
        )
        for line in settlement.payments
    ]


def _project(path: Path) -> tuple[Any, dict]:
    contract = contract_read(path)
    first = next(iter(contract.inputs))
    rows = [
        ResultRow(first, date(2025, 1, 1), date(2025, 6, 30), n=60, count=30),
        ResultRow(first, date(2025, 7, 1), date(2025, 12, 31), n=4, count=2),
    ]
    project = KnowledgeProject(
        contract,
        results=rows,
        payments=_settled(contract),
        stage="Implementation",
        url="https://example.org/knowledge/x/",
        documents=[{"title": "Evaluation report", "url": "https://example.org/report.pdf"}],
    )
    return contract, project_document(project, published=PUBLISHED)


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_every_shipped_contract_fills_the_indigo_fields(path):
    contract, document = _project(path)
    assert knowledge_validate(document) == []
    assert _shape_problems(document, PROJECT_MAPPING) == []
    roles = {p.role for p in contract.parties}
    finance = document["overall_project_finance"]
    beneficiaries = document["service_and_beneficiaries"]
    # Who the service is for: every contract says it (open_data or its participants).
    assert beneficiaries.get("target_population", {}).get("value"), (
        "declare open_data.target_population"
    )
    assert document["purpose_and_classifications"]["social_challenge"]["value"]
    assert document["sources"][0]["type"] == {"value": "Contract"}
    assert len(document["sources"]) >= 1 + len(contract.sources)
    taken = {t.evaluate for t in contract.inputs.values() if t.evaluate}
    followed = [e for e in contract.evaluations if e not in taken and e not in contract.inputs]
    assert [m["id"] for m in document["outcome_metrics"]] == list(contract.inputs) + followed
    if contract.periods:
        dates = document["dates"]
        assert dates["start_date_of_service_provision"]["value"]
        assert dates["anticipated_end_date_of_service_provision"]["value"]
        assert dates["anticipated_duration_of_service_provision"]["value"] > 0
    if contract.payments:
        assert "maximum_potential_outcome_payment_v2" in finance, (
            "declare open_data.maximum_outcome_payment"
        )
        assert finance["maximum_potential_outcome_payment_v2"]["amount"]["value"] > 0
        assert len(document["outcome_pricings"]) == len(contract.payments)
        assert [p["id"]["value"] for p in document["outcome_payment_plans"]] == [
            p.id for p in contract.payments
        ]
        settled = [p for p in _settled(contract) if p.amount != 0]
        assert len(document["transactions"]) == len(settled)
        outcome_payers = {
            p.id for p in contract.parties if p.role in ("commissioner", "fund_administrator")
        }
        assert len(document["outcome_payments"]) == sum(
            1 for p in settled if p.payer in outcome_payers
        )
        assert "total_outcome_payments_made" in finance
    if "financier" in roles:
        assert finance["total_investment_commitment"]["amount"]["exact"]["value"] > 0, (
            "declare open_data.investment_commitment"
        )
        assert "maximum_potential_loss" in finance
        assert "maximum_potential_return" in finance
    if "fund_administrator" in roles:
        administrator = next(p.id for p in contract.parties if p.role == "fund_administrator")
        assert document["outcome_funds"] == [{"id": fund_id(administrator), "status": "PUBLIC"}]
    withheld = [r for r in document["results"] if r["utfall_extension"]["suppressed"]]
    assert len(withheld) == 1 and "number_engaged_in_impact_bond" not in withheld[0]


def test_every_mapped_path_is_filled_by_some_shipped_contract():
    documents = [_project(path)[1] for path in CONTRACTS]
    empty = [
        path
        for path, _kind, _status in PROJECT_MAPPING
        if not any(_found(document, path) for document in documents)
    ]
    assert empty == []


def test_a_followed_evaluation_is_an_outcome_metric_that_pays_nothing():
    """Seed 002: the aim is to "minska risken för återplacering efter avslutad placering";
    the contract follows the re-placement rate without paying on it, and the open data
    publishes it as an outcome metric with how it is validated."""
    contract, document = _project(NORRKOPING)
    metrics = {m["id"]: m for m in document["outcome_metrics"]}
    taken = {t.evaluate for t in contract.inputs.values() if t.evaluate}
    followed = [name for name in contract.evaluations if name not in taken]
    assert "replacement_rate" in followed and "costs_three_years" in followed
    for name in followed:
        metric = metrics[name]
        assert metric["status"] == "PUBLIC"
        assert metric["outcome_validation_method"]["value"].startswith(f"utfall evaluation {name}")
        assert metric["utfall_extension"]["pays"] is False
        # The targeted number is the inputs' (what the contract pays on), not a followed one's.
        assert "targeted_number_of_service_users_or_beneficiaries_total" not in metric
    assert all(metrics[name]["utfall_extension"].get("pays", True) for name in contract.inputs)
    assert all(
        "targeted_number_of_service_users_or_beneficiaries_total" in metrics[name]
        for name in contract.inputs
    )


def test_norrkoping_in_indigo_terms():
    """Seed 002: "finansierar insatser för målgruppen för totalt 10 miljoner kronor", "40 %
    av det investerade beloppet", "Maximal återbetalning är därmed 12 miljoner kronor";
    seed 000 p. 9: "upp till 60 inkluderade individer"."""
    _contract, document = _project(NORRKOPING)
    finance = document["overall_project_finance"]
    assert finance["total_investment_commitment"] == {
        "currency": {"value": "SEK", "status": "PUBLIC"},
        "amount": {"exact": {"value": 10_000_000, "status": "PUBLIC"}},
    }
    assert finance["maximum_potential_outcome_payment_v2"]["amount"]["value"] == 12_000_000
    assert finance["maximum_potential_loss"] == {"value": "60", "status": "PUBLIC"}
    assert finance["maximum_potential_return"] == {"value": "20", "status": "PUBLIC"}
    assert finance["configuration_contracting_parties"]["value"] == "Intermediated structure"
    beneficiaries = document["service_and_beneficiaries"]
    assert beneficiaries["targeted_number_service_users_or_beneficiaries_total"] == {
        "value": 60,
        "status": "PUBLIC",
    }
    assert beneficiaries["unit_type_targeted_service_users_or_beneficiaries"]["value"] == (
        "Individual"
    )
    (investment,) = document["investments"]
    assert investment["organisation_id"] == {"value": "lsv"}
    assert investment["investment_commitment"]["amount"]["exact"] == {"value": 10_000_000}
    # The ledger: what the first test case's settlement paid, as outcome payments.
    paid = sum(p["money"]["amount"]["value"] for p in document["outcome_payments"])
    assert finance["total_outcome_payments_made"]["amount"]["value"] == paid > 0
    assert {t["transaction_type"]["value"] for t in document["transactions"]} == {"Outcome Payment"}
    assert document["purpose_and_classifications"]["policy_sector"] == {
        "value": "Child and family welfare"
    }
    municipality = next(o for o in document["organisations"] if o["id"] == "norrkoping")
    assert municipality["org-ids"] == {"primary": {"value": "SE-BLV-2120000472"}}
    assert document["utfall_extension"]["finance"]["investment_commitment_sek"] == "10000000.00"
    # Declared: the repayment prices the savings, the premium the school results.
    assert [p["outcome_metric_id"]["value"] for p in document["outcome_pricings"]] == [
        "net_savings_sek",
        "school_results_met",
    ]
    assert document["outcome_pricings"][0]["price_description"]["value"].startswith(
        "Repayment (guarantee and savings-based part) (norrkoping → lsv): "
    )


def test_without_the_ledger_no_payment_is_claimed():
    contract = contract_read(NORRKOPING)
    document = project_document(KnowledgeProject(contract), published=PUBLISHED)
    assert document["outcome_payments"] == [] and document["transactions"] == []
    assert "total_outcome_payments_made" not in document["overall_project_finance"]


def test_a_design_stage_is_kept_in_the_extension_only():
    contract = contract_read(NORRKOPING)
    document = project_document(
        KnowledgeProject(contract, stage="Late-stage design"), published=PUBLISHED
    )
    assert "stage_development" not in document
    assert document["utfall_extension"]["stage_development"] == "Late-stage design"
    assert knowledge_validate(document) == []


def _pilot_fund(projects=("utfall-national-fund-constellation",)) -> KnowledgeFund:
    state = FundState(
        PILOT_BUDGET,
        commitments=(Commitment("c1", 2025, Decimal("5000000")),),
        payments=(
            Payment("c1", 2025, Decimal("1250000.50"), PaymentKind.OUTCOME_PAYMENT),
            Payment("c1", 2025, Decimal("450000"), PaymentKind.SUPPORT),
        ),
    )
    return KnowledgeFund(
        administrator="delegation",
        name="Nationell utfallsfinansiering",
        host="Delegationen för nationell utfallsfinansiering",
        state=state,
        projects=projects,
        purpose="Outcome payments to constellations preventing youth crime.",
        mechanism="Outcome payments of at most 50 % of a constellation's costs",
        aspired_contracts=10,
    )


def test_the_fund_document_is_indigo_s_fund_object():
    """Seed 003 tables 11–12: 365 MSEK 2023–2028, at most 170 MSEK outcome payment."""
    document = fund_document(_pilot_fund(), published=PUBLISHED)
    assert knowledge_validate(document) == []
    assert _shape_problems(document, FUND_MAPPING) == []
    assert all(_found(document, path) for path, _k, _s in FUND_MAPPING)
    assert document["id"] == fund_id("delegation")
    scale = document["dimensions_of_scale"]
    funding = scale["total_outcome_fund_value_outcomes_funding"]
    assert funding["aspiration"]["amount"] == {"value": 170_000_000}
    assert funding["actual"]["amount"] == {"value": 1250000.5}
    assert scale["number_of_outcome_contracts"] == {
        "aspiration": {"value": 10},
        "actual": {"value": 1},
    }
    assert document["dates"] == {
        "launch_date": {"value": "2023"},
        "anticipated_end_date": {"value": "2028-12-31"},
    }
    extension = document["utfall_extension"]
    assert extension["budget_sek"] == "365000000.00"
    assert extension["paid_by_kind_sek"]["support"] == "450000.00"


def test_the_package_holds_projects_and_funds_and_validates():
    projects = [KnowledgeProject(contract_read(NORRKOPING))]
    package = knowledge_export(projects, funds=[_pilot_fund()], published=PUBLISHED)
    assert knowledge_validate(package) == []
    assert [p["id"] for p in package["projects"]] == ["utfall-norrkoping-placed-children"]
    assert [f["id"] for f in package["funds"]] == ["utfall-fund-delegation"]
    package["funds"][0]["status"] = "PRIVATE"
    package["projects"][0]["outcome_metrics"][0]["status"] = "DISPUTED"
    paths = {f.path for f in knowledge_validate(package)}
    assert {"funds[0].status", "projects[0].outcome_metrics[0].status"} <= paths


def test_a_payment_to_an_unknown_organisation_is_located():
    contract = contract_read(NORRKOPING)
    payment = SettledPayment("repayment", "norrkoping", "ghost", Decimal("1.00"), date(2025, 1, 1))
    document = project_document(KnowledgeProject(contract, payments=[payment]), published=PUBLISHED)
    paths = {f.path for f in knowledge_validate(document)}
    assert "outcome_payments[0].recipient_organisation_id.value" in paths
    assert "transactions[0].receiving_organisation_id.value" in paths


def test_a_sector_outside_indigo_s_list_stays_in_the_extension():
    contract = contract_read(NORRKOPING)
    document = project_document(
        KnowledgeProject(contract, policy_sector="Culture"), published=PUBLISHED
    )
    assert "policy_sector" not in document["purpose_and_classifications"]
    assert document["utfall_extension"]["policy_sector"] == "Culture"
    assert knowledge_validate(document) == []
