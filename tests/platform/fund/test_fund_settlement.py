"""Outcome payments through the settlement workflow: each selected constellation is paid under
its own instance of the fund's contract; a report becomes a draft statement, is reviewed,
signed off by the evaluator with TOTP and only then paid; commitments and payments are in
the hash-chained ledger; a final fund statement's bundle passes ``utfall verify``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from fund_workflow import evaluate_and_sign, totp_code
from typer.testing import CliRunner

from utfall.cli.main import app
from utfall.core.ledger import KIND_FUND_COMMITMENT, KIND_FUND_PAYMENT, canonical_sha256
from utfall.errors import UserError
from utfall.platform.contracts.models import Role, SettlementStatus
from utfall.platform.fund import services
from utfall.platform.fund.models import OutcomePayment, ReportStatus
from utfall.platform.settlements.ledger import ledger_entries, ledger_jsonl, ledger_verify
from utfall.platform.settlements.services import (
    settlement_comment,
    settlement_discard,
    settlement_review_start,
    settlement_sign,
)

MSEK = Decimal(1_000_000)


def _reports(w, *, costs=4 * MSEK):
    def report(start, school, work, baseline=False):
        return services.report_submit(
            constellation=w.constellation,
            actor=w.applicant,
            period_start=start,
            period_end=start + timedelta(days=180),
            reported_costs_to_date=Decimal(0) if baseline else costs,
            lines=[
                {"indicator": w.indicators["school_absence"], "n": 200, "count": school},
                {"indicator": w.indicators["work_or_studies"], "n": 150, "count": work},
            ],
            is_baseline=baseline,
        )

    report(date(2025, 1, 1), 40, 90, baseline=True)
    return report(date(2025, 7, 1), 20, 110)


def test_selection_makes_the_constellations_contract(selected):
    w = selected
    contract = w.constellation.contract
    assert contract.identifier == "national-fund-constellation-k-01"
    assert contract.status == "in_force"
    assert "K-01 Konstellation Norrby" in contract.title
    parties = {p.organisation_id: p.role for p in contract.parties.all()}
    assert parties == {
        w.delegation.pk: Role.COMMISSIONER,
        w.municipality.pk: Role.PROVIDER,
        w.evaluation_agency.pk: Role.EVALUATOR,
    }
    # The rate card is the fund's: only the id and the title differ.
    fund_text = w.contract.versions.get().text
    own_text = contract.versions.get().text
    differing = [
        a for a, b in zip(fund_text.splitlines(), own_text.splitlines(), strict=True) if a != b
    ]
    assert [line.split(":")[0] for line in differing] == ["id", "title"]


def test_a_report_is_paid_only_after_the_evaluators_sign_off(selected):
    w = selected
    report = _reports(w)
    with pytest.raises(UserError, match="no statement"):
        services.report_pay(report=report, actor=w.admin, year=2026)
    for someone in (w.admin, w.applicant):
        with pytest.raises(PermissionDenied):
            services.report_evaluate(report=report, actor=someone)
    draft = services.report_evaluate(report=report, actor=w.evaluator)
    report.refresh_from_db()
    assert report.status == ReportStatus.EVALUATED and report.settlement == draft
    assert draft.status == SettlementStatus.DRAFT
    # Every input is computed from the stored rows by the one pipeline: nothing is entered.
    assert draft.manual_inputs == {}
    inputs = draft.result["inputs"]
    assert Decimal(inputs["school_absence_units"]) == 20
    assert Decimal(inputs["reported_costs_sek"]) == 4 * MSEK
    assert Decimal(inputs["parenting_capacity_units"]) == 0  # not reported: no units
    assert Decimal(inputs["paid_before_sek"]) == 0
    assert draft.result["outputs"]["rate_card_value_sek"] == "1400000.00"
    # The report's lines show the statement's figures: share change against the baseline.
    line = report.lines.get(indicator__code="school_absence")
    assert line.verified_units == 20
    assert line.evaluation["method"] == "share_change"
    assert line.evaluation["baseline_share"] == 0.2 and line.evaluation["share"] == 0.1
    assert 0 < line.evaluation["ci_low"] < 0.1 < line.evaluation["ci_high"]
    with pytest.raises(UserError, match="already has a statement"):
        services.report_evaluate(report=report, actor=w.evaluator)
    with pytest.raises(UserError, match="only a final statement is paid"):
        services.report_pay(report=report, actor=w.admin, year=2026)

    # The parties review; the fund administrator and the constellation may comment.
    settlement_review_start(settlement=draft, actor=w.evaluator)
    settlement_comment(settlement=draft, actor=w.admin, text="The costs match our records.")
    settlement_comment(settlement=draft, actor=w.applicant, text="Agreed.")
    with pytest.raises(UserError, match="only a final statement is paid"):
        services.report_pay(report=report, actor=w.admin, year=2026)
    # Only the evaluator signs, and only with a valid second factor.
    with pytest.raises(PermissionDenied):
        settlement_sign(settlement=draft, actor=w.admin, totp_code="123456")
    with pytest.raises(UserError, match="two-factor code is wrong"):
        settlement_sign(settlement=draft, actor=w.evaluator, totp_code="000000")
    assert not OutcomePayment.objects.exists()
    final = settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
    assert final.status == SettlementStatus.SIGNED

    payment = services.report_pay(report=report, actor=w.admin, year=2026)
    assert payment.settlement == final
    assert payment.amount == Decimal("1400000.00") and payment.binding == "outcomes"
    assert any("50 %" in line or "cost" in line for line in payment.explanation)


def test_a_discarded_draft_frees_the_report_and_a_stale_statement_is_refused(selected):
    w = selected
    report = _reports(w)
    draft = services.report_evaluate(report=report, actor=w.evaluator)
    settlement_discard(settlement=draft, actor=w.evaluator)
    report.refresh_from_db()
    assert report.settlement is None
    statement = evaluate_and_sign(w, report)
    # A payment recorded meanwhile makes the statement's "paid before" stale.
    OutcomePayment.objects.create(
        report=w.constellation.reports.get(is_baseline=True),
        year=2025,
        outcome_value=Decimal(1),
        amount=Decimal(1),
        binding="outcomes",
        paid_by=w.admin,
    )
    with pytest.raises(UserError, match="corrects the statement"):
        services.report_pay(report=report, actor=w.admin, year=2026)
    assert statement.status == SettlementStatus.SIGNED


def test_the_ledger_holds_commitments_and_the_payment_and_verifies(selected):
    w = selected
    code = w.constellation.code
    commitments = [e for e in ledger_entries() if e.kind == KIND_FUND_COMMITMENT]
    assert sorted(e.attributes["year"] for e in commitments) == [2025, 2026, 2027, 2028]
    assert sum(Decimal(e.attributes["amount_sek"]) for e in commitments) == 17 * MSEK
    for entry in commitments:
        assert entry.data_sha256 == canonical_sha256(entry.attributes)
        assert entry.contract_identifier == w.constellation.contract.identifier
    report = _reports(w)
    statement = evaluate_and_sign(w, report)
    payment = services.report_pay(report=report, actor=w.admin, year=2026)
    paid = [e for e in ledger_entries() if e.kind == KIND_FUND_PAYMENT]
    assert len(paid) == 1
    entry = paid[0]
    assert entry.attributes["constellation"] == code
    assert entry.attributes["amount_sek"] == str(payment.amount)
    assert entry.attributes["settlement_sha256"] == statement.sha256
    assert entry.data_sha256 == canonical_sha256(entry.attributes)
    assert entry.actor == w.admin.get_username()
    # The payment comes after the statement it is made on.
    settled = [e for e in ledger_entries() if e.kind == "settlement"]
    assert settled and settled[-1].sequence < entry.sequence
    assert ledger_verify() == []
    # Termination releases later commitments, also in the ledger.
    services.constellation_terminate(
        constellation=w.constellation, actor=w.admin, reason="Stopped", today=date(2026, 6, 1)
    )
    released = [
        e
        for e in ledger_entries()
        if e.kind == KIND_FUND_COMMITMENT and e.attributes["change"] == "released"
    ]
    assert sorted(e.attributes["year"] for e in released) == [2027, 2028]
    assert ledger_verify() == []


def test_a_final_fund_statement_bundle_passes_utfall_verify(selected, client, tmp_path):
    w = selected
    report = _reports(w)
    statement = evaluate_and_sign(w, report)
    services.report_pay(report=report, actor=w.admin, year=2026)
    client.force_login(w.admin)  # the fund's administrator is the payer party
    response = client.get(
        f"/contracts/{statement.contract.identifier}/settlements/{statement.pk}/bundle.json"
    )
    assert response.status_code == 200
    data = response.content
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(data)
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    # The slice is part of the platform's chain, which goes on with the payment.
    (tmp_path / "ledger.jsonl").write_bytes(ledger_jsonl())
    result = runner.invoke(app, ["verify", str(bundle), "--ledger", str(tmp_path / "ledger.jsonl")])
    assert result.exit_code == 0, result.output
    document = json.loads(data)
    # No fact is entered: every input comes from the evaluations over the stored tables,
    # which the bundle names with the digest of every table they read.
    methods = {e["evaluation"]: e["method"] for e in document["evaluations"]}
    assert methods["school_absence"] == "share_change"
    assert methods["paid_before"] == "aggregate"
    read = {t["table"] for e in document["evaluations"] for t in e["tables"]}
    assert read == {"outcome_reports", "cost_reports", "outcome_payments"}
    payments = {p["id"]: p for p in document["statement"]["payments"]}
    assert payments["outcome_payment"]["amount_sek"] == "1400000.00"
    # A changed figure fails verification.
    tampered = data.replace(b"1400000.00", b"1400001.00", 1)
    assert tampered != data
    bundle.write_bytes(tampered)
    assert runner.invoke(app, ["verify", str(bundle)]).exit_code in (1, 2)
