"""The fund demo: a fund with a call, applications, a selection and a first payment cycle;
the reference contracts published as validated open data."""

from __future__ import annotations

import os

from fund_workflow import totp_code

from utfall.platform.contracts.models import SettlementStatus
from utfall.services.knowledge import knowledge_validate

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "contracts")


def test_fund_demo(db, client, make_user):
    from utfall.platform.contracts.services import contract_create
    from utfall.platform.fund.demo import load_fund_demo
    from utfall.platform.fund.models import (
        ApplicationStatus,
        Call,
        Constellation,
        Fund,
        OutcomePayment,
    )
    from utfall.platform.organisations.services import organisation_create

    commissioner_org = organisation_create(name="Demokommunen", actor=None)
    commissioner = make_user("commissioner", commissioner_org)
    for name in sorted(os.listdir(EXAMPLES)):
        with open(os.path.join(EXAMPLES, name), encoding="utf-8") as handle:
            contract_create(
                text=handle.read(),
                organisation=commissioner_org,
                actor=commissioner,
                file_name=name,
            )
    logins = load_fund_demo(log=lambda *_: None, totp_code=totp_code)
    assert "fund_admin" in [login.username for login in logins]
    fund = Fund.objects.get()
    call = Call.objects.get(fund=fund)
    assert call.applications.count() == 6
    assert call.applications.filter(status=ApplicationStatus.SCREENED_OUT).count() == 1
    selected = Constellation.objects.filter(application__call=call)
    assert selected.exists()
    assert sum(c.application.requested_outcome_payment for c in selected) <= (
        call.outcome_payment_frame
    )
    assert OutcomePayment.objects.count() == selected.count()
    for payment in OutcomePayment.objects.all():
        assert payment.amount <= payment.report.reported_costs_to_date / 2
        # Paid on a final statement the evaluator signed off, under the constellation's contract.
        assert payment.settlement.status == SettlementStatus.SIGNED
        assert payment.settlement.signed_by.username == "evaluator"
        assert payment.settlement.contract == payment.report.constellation.contract
    from utfall.platform.settlements.ledger import ledger_entries, ledger_verify

    assert ledger_verify() == []
    payments = [e for e in ledger_entries() if e.kind == "fund_payment"]
    outcome_entries = [e for e in payments if e.attributes.get("payment_kind") != "support"]
    assert len(outcome_entries) == selected.count()
    # Phase 3 (issue 18): every qualified application through the deep analysis to the
    # delegation's decision; those not financed told why; one project leader's support paid
    # on a signed statement and signed on the ledger.
    from utfall.platform.fund.models import DeepAnalysis, SupportPayment

    analyses = DeepAnalysis.objects.filter(application__call=call)
    assert analyses.count() == 5 and not analyses.filter(decided_at__isnull=True).exists()
    for refused in analyses.filter(financed=False):
        assert refused.reasons and refused.improvement_areas
    support = SupportPayment.objects.get()
    assert support.settlement.status == SettlementStatus.SIGNED
    assert support.settlement.contract == support.constellation.support_contract
    assert [e.attributes["amount_sek"] for e in payments if e not in outcome_entries] == [
        str(support.amount)
    ]
    # A second run leaves it as it is.
    load_fund_demo(log=lambda *_: None)
    assert Fund.objects.count() == 1
    # The fund's contract carries every constellation's aggregates and the fund's totals.
    from utfall.platform.knowledge.models import PublishedResult

    results = PublishedResult.objects.filter(publication__contract=fund.contract)
    assert results.filter(group="all").exists()
    assert set(results.exclude(group="all").values_list("group", flat=True)) == set(
        selected.values_list("code", flat=True)
    )
    document = client.get("/knowledge/open-data.json").json()
    assert knowledge_validate(document) == []
    assert len(document["projects"]) == 5
    client.force_login(fund.administrator.memberships.first().user)
    assert client.get(f"/fund/{fund.pk}/").status_code == 200
