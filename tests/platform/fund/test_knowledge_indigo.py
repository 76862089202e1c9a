"""The knowledge platform's downloads in INDIGO 4.1.0: a project document per published
contract with the payments of its signed settlements, and the fund's document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone

from utfall.core.ledger.statement import Statement, StatementPayment
from utfall.platform.contracts.models import Settlement, SettlementStatus
from utfall.platform.contracts.selectors import latest_version
from utfall.platform.knowledge import services
from utfall.services.knowledge import knowledge_validate

HEX = "ab" * 32


def _sign(contract, user, amounts, *, supersedes=None, day=10):
    """A signed settlement of ``contract`` paying ``amounts`` (payment id → SEK)."""
    version = latest_version(contract)
    statement = Statement(
        contract_id=contract.identifier,
        contract_version="1",
        contract_sha256=version.sha256,
        payments=tuple(
            StatementPayment(pid, payer, payee, pid, Decimal(amount))
            for pid, (payer, payee, amount) in amounts.items()
        ),
        parts={"settlement": HEX},
        ledger_head=HEX,
        evaluator="evaluator",
        signer_key_sha256=HEX,
        signed_at=datetime(2025, 7, day, 12, 0, tzinfo=UTC),
        supersedes=supersedes.statement_sha256 if supersedes is not None else None,
    )
    settlement = Settlement.objects.create(
        contract=contract,
        version=version,
        facts={},
        result={},
        sha256=HEX,
        status=SettlementStatus.SIGNED,
        created_by=user,
        signed_by=user,
        signed_at=timezone.now(),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        statement=statement.as_dict(),
        supersedes=supersedes.settlement if supersedes is not None else None,
    )

    class Signed:
        pass

    signed = Signed()
    signed.settlement = settlement
    signed.statement_sha256 = statement.sha256()
    return signed


def test_a_project_download_is_its_indigo_document_with_the_ledger_s_payments(client, world):
    commissioner = world.users["commissioner"]
    services.publication_update(
        contract=world.contract, actor=commissioner, published=True, stage="Implementation"
    )
    first = _sign(world.contract, commissioner, {"repayment": ("norrkoping", "lsv", "4000000")})
    # A correction replaces the first statement: only its payments count.
    _sign(
        world.contract,
        commissioner,
        {"repayment": ("norrkoping", "lsv", "4500000.50")},
        supersedes=first,
        day=20,
    )
    document = client.get(f"/knowledge/{world.contract.identifier}.json").json()
    assert knowledge_validate(document) == []
    assert document["id"] == f"utfall-{world.contract.identifier}"  # not wrapped in a list
    (payment,) = document["outcome_payments"]
    assert payment["money"]["amount"] == {"value": 4500000.5}
    assert payment["period"] == {
        "start_date": {"value": "2025-01-01"},
        "end_date": {"value": "2025-06-30"},
    }
    assert payment["utfall_extension"]["amount_sek"] == "4500000.50"
    (transaction,) = document["transactions"]
    assert transaction["date"] == {"value": "2025-07-20"}
    finance = document["overall_project_finance"]
    assert finance["total_outcome_payments_made"]["amount"]["value"] == 4500000.5
    assert finance["total_investment_commitment"]["amount"]["exact"]["value"] == 10_000_000
    assert document["stage_development"] == {
        "value": "Implementation",
        "source_ids": "source-contract",
        "status": "PUBLIC",
    }
    package = client.get("/knowledge/open-data.json").json()
    assert knowledge_validate(package) == []
    assert [p["id"] for p in package["projects"]] == [document["id"]]
    assert package["funds"] == []


def test_the_fund_s_document_once_its_contract_is_published(client, fund_world):
    fund_url = "/knowledge/funds/utfall-fund-delegation.json"
    assert client.get(fund_url).status_code == 404  # its contract is not published
    services.publication_update(
        contract=fund_world.contract, actor=fund_world.applicant, published=True
    )
    document = client.get(fund_url).json()
    assert knowledge_validate(document) == []
    assert document["name"] == {"value": fund_world.fund.name}
    assert document["host_institution_of_outcome_fund"] == {"value": "Delegationen"}
    funding = document["dimensions_of_scale"]["total_outcome_fund_value_outcomes_funding"]
    assert funding["aspiration"]["amount"]["value"] > 0
    assert document["utfall_extension"]["budget_sek"] == "365000000.00"
    assert document["utfall_extension"]["project_ids"] == ["utfall-national-fund-constellation"]
    package = client.get("/knowledge/open-data.json").json()
    assert [f["id"] for f in package["funds"]] == ["utfall-fund-delegation"]
    project = client.get("/knowledge/national-fund-constellation.json").json()
    assert project["outcome_funds"] == [{"id": "utfall-fund-delegation", "status": "PUBLIC"}]
    assert client.get("/knowledge/funds/utfall-fund-nobody.json").status_code == 404
