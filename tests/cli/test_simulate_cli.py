"""``utfall simulate`` and ``utfall cashflows`` through the console script."""

from __future__ import annotations

import json

NORRKOPING = "examples/contracts/norrkoping-placed-children.yaml"
FACTS = "examples/facts/norrkoping-placed-children.yaml"
PLAN = "examples/finance/norrkoping-plan.yaml"


def test_simulate_reports_payouts_odds_and_irr(utfall):
    result = utfall(
        "simulate",
        NORRKOPING,
        "-d",
        "net_savings_sek=normal(8e6, 5e6)",
        "-d",
        "school_results_met=bernoulli(0.6)",
        "--facts",
        FACTS,
        "--plan",
        PLAN,
        "-n",
        "50000",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scenarios"] == 50000 and report["valid"] == 50000
    assert report["checked_against_exact_engine"] == 200 and report["disagreements"] == []
    assert 0.62 < report["probability_full_repayment"] < 0.69
    assert 0.18 < report["probability_premium"] < 0.23
    assert report["payments_sek"]["premium"]["maximum"] == 2_000_000.0
    assert report["to_financier_sek"]["minimum"] == 4_000_000.0
    assert -0.1 < report["irr"]["mean"] < 0.05
    assert report["inputs"]["invested_sek"] == "fixed from norrkoping-placed-children.yaml"


def test_cashflows_report(utfall):
    result = utfall("cashflows", NORRKOPING, "--facts", FACTS, "--plan", PLAN, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["invested_sek"] == "10000000.00" and report["multiple"] == "1.0850"
    assert report["break_even"] == {"month": 13, "month_start": "2017-02-01"}
    assert len(report["drawdowns"]) == 20
    assert report["parties"]["lsv"]["net_sek"] == "850000.00"
