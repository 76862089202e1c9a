"""From raw synthetic data to a settlement in one go, through the real console script.

``utfall synth`` writes the data, ``utfall evaluate`` estimates, and ``utfall settle
--data-dir`` computes the reference contracts' bound inputs from the same data. The
contract's figures must agree with the evaluation's (two implementations: exact
Decimal formulas in the contract, numpy in the estimator).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, root) -> Path:
    """A copy of examples/ so the specs' ``../../out/synth/…`` paths resolve in tmp."""
    base = tmp_path_factory.mktemp("checkout")
    shutil.copytree(root / "examples", base / "examples")
    return base


def _json(result) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_norrkoping_from_synthetic_data(utfall, checkout):
    out = checkout / "out" / "synth" / "norrkoping"
    assert utfall("synth", "norrkoping", "--out", out).returncode == 0
    contract = checkout / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    facts = checkout / "examples" / "facts" / "with-data" / "norrkoping-placed-children.yaml"

    settled = _json(
        utfall("settle", contract, "--data-dir", out, "--facts", facts, "--json", "--explain")
    )
    evaluations = checkout / "examples" / "evaluations"
    costs = _json(
        utfall("evaluate", evaluations / "norrkoping-costs-historical-reference.yaml", "--json")
    )
    school = _json(utfall("evaluate", evaluations / "norrkoping-school-did.yaml", "--json"))

    inputs = settled["inputs"]
    saving = Decimal(repr(costs["extras"]["cumulative_saving"])).quantize(Decimal("0.01"))
    assert Decimal(inputs["net_savings_sek"]) == saving
    assert inputs["school_results_met"] is (school["ci_low"] >= 0)

    # Reading B (the default) by hand, on the figures from data.
    invested = Decimal(10_000_000)
    guarantee = invested * Decimal("0.40")
    repayment = guarantee + min(max(saving, Decimal(0)), invested - guarantee)
    premium = (
        min(max(saving - invested, Decimal(0)), Decimal("0.20") * invested, Decimal(2_000_000))
        if inputs["school_results_met"]
        else Decimal(0)
    )
    outputs = settled["outputs"]
    assert Decimal(outputs["repayment_sek"]) == repayment
    assert Decimal(outputs["premium_sek"]) == premium
    assert Decimal(outputs["total_paid_to_financier_sek"]) == repayment + premium


def test_norrkoping_explanation_reaches_into_the_evaluation(utfall, checkout):
    out = checkout / "out" / "synth" / "norrkoping"
    if not (out / "manifest.json").exists():
        assert utfall("synth", "norrkoping", "--out", out).returncode == 0
    contract = checkout / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    facts = checkout / "examples" / "facts" / "with-data" / "norrkoping-placed-children.yaml"
    result = utfall("settle", contract, "--data-dir", out, "--facts", facts, "--explain")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "historical_reference" in text
    assert "data_sha256" in text
    assert "cumulative_saving" in text


def test_sick_leave_from_synthetic_data(utfall, checkout):
    out = checkout / "out" / "synth" / "sick-leave"
    assert utfall("synth", "sick-leave", "--out", out, "--size", "2000").returncode == 0
    spec = checkout / "examples" / "evaluations" / "sick-leave-trend-adjusted.yaml"
    estimate = _json(utfall("evaluate", spec, "--json"))
    per_employee = Decimal(repr(estimate["extras"]["saving_days"])) / Decimal(
        repr(estimate["extras"]["employees"])
    )
    for town, activity_share in (("botkyrka", "0.50"), ("ornskoldsvik", "0.25")):
        contract = checkout / "examples" / "contracts" / f"sick-leave-{town}.yaml"
        facts = checkout / "examples" / "facts" / "with-data" / f"sick-leave-{town}.yaml"
        settled = _json(utfall("settle", contract, "--data-dir", out, "--facts", facts, "--json"))
        outputs, inputs = settled["outputs"], settled["inputs"]
        assert len(inputs["observed_days"]) == 36
        assert abs(Decimal(outputs["reduction_days"]) - per_employee) < Decimal("1e-9")
        day_value = Decimal(inputs["value_per_sick_day_sek"])
        employees = Decimal(inputs["employees"])
        expected_saving = max(Decimal(outputs["reduction_days"]) * day_value * employees, 0)
        assert abs(Decimal(outputs["saving_sek"]) - expected_saving) <= Decimal("0.005")
        assert Decimal(outputs["activity_pay_sek"]) == Decimal(20_000_000) * Decimal(
            activity_share
        )
