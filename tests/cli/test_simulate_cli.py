"""``utfall simulate`` and ``utfall cashflows`` through the console script."""

from __future__ import annotations

import json

import pytest

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


PLAN_FROM_DATA = "examples/finance/norrkoping-plan-from-data.yaml"


@pytest.fixture(scope="module")
def norrkoping_data(tmp_path_factory, utfall):
    out = tmp_path_factory.mktemp("synth") / "norrkoping"
    result = utfall("synth", "norrkoping", "--out", out, "--size", "30")
    assert result.returncode == 0, result.stderr
    return out


def test_cashflows_against_the_cost_reports_in_the_data(utfall, norrkoping_data):
    result = utfall(
        "cashflows", NORRKOPING, "--data-dir", norrkoping_data, "--plan", PLAN_FROM_DATA, "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reports = (norrkoping_data / "cost_reports.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(report["drawdowns"]) == len({line.split(",")[0] for line in reports})
    assert report["invested_sek"] == "10000000.00"
    categories = set(report["drawdowns"][0]["drawn_by_category_sek"])
    assert categories == {line.split(",")[1] for line in reports}
    simulated = utfall(
        "simulate",
        NORRKOPING,
        "-d",
        "net_savings_sek=normal(8e6, 5e6)",
        "-d",
        "school_results_met=bernoulli(0.6)",
        "-d",
        "invested_sek=10000000",
        "-d",
        "school_did_met=bernoulli(1)",
        "-d",
        "delivered_as_agreed=bernoulli(1)",
        "--plan",
        PLAN_FROM_DATA,
        "--data-dir",
        norrkoping_data,
        "-n",
        "2000",
        "--json",
    )
    assert simulated.returncode == 0, simulated.stderr
    outcome = json.loads(simulated.stdout)
    assert outcome["schedule"].startswith(f"{len(report['drawdowns'])} drawdown(s)")
    assert outcome["invested_amount_sek"]["mean"] == 10_000_000.0


def test_cashflows_errors_exit_2_and_say_where(utfall, tmp_path):
    result = utfall("cashflows", NORRKOPING, "--facts", FACTS, "--plan", PLAN_FROM_DATA)
    assert result.returncode == 2
    assert "the cost reports come from the table cost_reports" in result.stderr
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "commitment_sek: 1\ncost_structure: {a: 1}\ncost_reports: {table: invoices}\n"
        "settlement_date: 2022-01-01\n",
        encoding="utf-8",
    )
    result = utfall("cashflows", NORRKOPING, "--facts", FACTS, "--plan", plan)
    assert result.returncode == 2
    assert f"{plan}:3" in result.stderr and "declares no table 'invoices'" in result.stderr
    missing = utfall("cashflows", NORRKOPING, "--facts", FACTS, "--plan", tmp_path / "none.yaml")
    assert missing.returncode == 2 and "no such finance plan file" in missing.stderr
