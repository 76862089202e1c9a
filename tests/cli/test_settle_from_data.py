"""From raw synthetic data to a settlement in one go, through the console script
(its entry point; a bad cell through the installed script).

``utfall synth`` writes the tables a reference contract declares, ``utfall evaluate
CONTRACT --data-dir`` runs the contract's evaluations on them, and ``utfall settle
--data-dir`` computes the bound inputs from the same tables. The contract's figures
must agree with the evaluations' (two implementations: exact Decimal formulas in the
contract, numpy in the estimator), and the hand-computed payments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def norrkoping(tmp_path_factory, utfall) -> Path:
    out = tmp_path_factory.mktemp("synth") / "norrkoping"
    assert utfall("synth", "norrkoping", "--out", out).returncode == 0
    return out


def _json(result) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_norrkoping_from_synthetic_data(utfall, root, norrkoping):
    contract = root / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    settled = _json(utfall("settle", contract, "--data-dir", norrkoping, "--json", "--explain"))
    evaluated = _json(
        utfall(
            "evaluate",
            contract,
            "--data-dir",
            norrkoping,
            "-e",
            "costs",
            "-e",
            "school_change",
            "-e",
            "drawn",
            "--json",
        )
    )
    inputs = settled["inputs"]
    saving = Decimal(repr(evaluated["costs"]["extras"]["cumulative_saving"])).quantize(
        Decimal("0.01")
    )
    assert Decimal(inputs["net_savings_sek"]) == saving
    # The school condition: the included children's pre/post change (seed 002, issue 17).
    school_met = settled["outputs"]["school_results_met_flag"]
    assert school_met is (evaluated["school_change"]["ci_low"] >= 0)
    assert inputs["delivered_as_agreed"] is True
    # The amount drawn is the exact sum of the imported cost reports.
    reports = (norrkoping / "cost_reports.csv").read_text(encoding="utf-8").splitlines()[1:]
    drawn = sum(Decimal(line.rsplit(",", 1)[1]) for line in reports)
    assert (
        Decimal(inputs["invested_sek"]) == drawn == Decimal(evaluated["drawn"]["extras"]["value"])
    )

    # Reading B (the default) by hand, on the figures from data.
    invested = min(drawn, Decimal(10_000_000))
    guarantee = invested * Decimal("0.40")
    repayment = guarantee + min(max(saving, Decimal(0)), invested - guarantee)
    premium = (
        min(max(saving - invested, Decimal(0)), Decimal("0.20") * invested, Decimal(2_000_000))
        if school_met
        else Decimal(0)
    )
    outputs = settled["outputs"]
    assert Decimal(outputs["repayment_sek"]) == repayment
    assert Decimal(outputs["premium_sek"]) == premium
    assert Decimal(outputs["total_paid_to_financier_sek"]) == repayment + premium


def test_norrkoping_explanation_reaches_into_the_evaluation(utfall, root, norrkoping):
    contract = root / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    result = utfall("settle", contract, "--data-dir", norrkoping, "--explain")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "historical_reference" in text
    assert "cost_records" in text and "participants" in text  # the tables it read …
    assert "cumulative_saving" in text


def test_as_of_takes_only_the_data_known_then(utfall, root, norrkoping):
    contract = root / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    early = _json(
        utfall("settle", contract, "--data-dir", norrkoping, "--as-of", "2019-06-30", "--json")
    )
    full = _json(utfall("settle", contract, "--data-dir", norrkoping, "--json"))
    assert Decimal(early["inputs"]["invested_sek"]) < Decimal(full["inputs"]["invested_sek"])
    assert early["inputs"]["net_savings_sek"] != full["inputs"]["net_savings_sek"]
    # Before any child's after-measurement the school evaluation has nothing to compare.
    result = utfall("settle", contract, "--data-dir", norrkoping, "--as-of", "2017-06-30")
    assert result.returncode == 2
    assert "school_results" in result.stderr and "as of 2017-06-30" in result.stderr


def test_a_bad_cell_names_the_file_row_and_column(utfall_script, root, norrkoping, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in norrkoping.glob("*.*"):
        (broken / path.name).write_bytes(path.read_bytes())
    costs = (broken / "cost_records.csv").read_text(encoding="utf-8").splitlines()
    costs[5] = costs[5].rsplit(",", 1)[0] + ",12.345"
    (broken / "cost_records.csv").write_text("\n".join(costs) + "\n", encoding="utf-8")
    contract = root / "examples" / "contracts" / "norrkoping-placed-children.yaml"
    result = utfall_script("settle", contract, "--data-dir", broken)
    assert result.returncode == 2
    assert "cost_records.csv" in result.stderr and "row 6" in result.stderr
    assert "amount" in result.stderr and "öre" in result.stderr


def test_sick_leave_from_synthetic_data(utfall, root, tmp_path):
    out = tmp_path / "sick-leave"
    assert utfall("synth", "sick-leave", "--out", out, "--size", "2000").returncode == 0
    for town, activity_share in (("botkyrka", "0.50"), ("ornskoldsvik", "0.25")):
        contract = root / "examples" / "contracts" / f"sick-leave-{town}.yaml"
        estimate = _json(utfall("evaluate", contract, "--data-dir", out, "--json"))["sick_leave"]
        per_employee = Decimal(repr(estimate["extras"]["saving_days"])) / Decimal(
            repr(estimate["extras"]["employees"])
        )
        settled = _json(utfall("settle", contract, "--data-dir", out, "--json"))
        outputs, inputs = settled["outputs"], settled["inputs"]
        assert len(inputs["observed_days_per_employee"]) == 36
        assert abs(Decimal(outputs["reduction_days"]) - per_employee) < Decimal("1e-9")
        day_value = Decimal(settled["outputs"]["value_per_sick_day_sek"])  # issue 17: calculated
        employees = Decimal(inputs["employees"])
        expected_saving = max(Decimal(outputs["reduction_days"]) * day_value * employees, 0)
        assert abs(Decimal(outputs["saving_sek"]) - expected_saving) <= Decimal("0.005")
        assert Decimal(outputs["activity_pay_sek"]) == Decimal(20_000_000) * Decimal(activity_share)


def test_early_support_from_synthetic_data(utfall, root, tmp_path):
    out = tmp_path / "early-support"
    assert utfall("synth", "early-support", "--out", out).returncode == 0
    planted = json.loads((out / "manifest.json").read_text())["planted"]
    contract = root / "examples" / "contracts" / "hasselby-vallingby-early-support.yaml"
    settled = _json(utfall("settle", contract, "--data-dir", out, "--json"))
    shares = [Decimal(v) for v in settled["inputs"]["activity_delivered"]]
    wanted = [Decimal(repr(v)) for v in planted["activity_delivered"].values()]
    assert [round(s, 9) for s in shares] == [round(w, 9) for w in wanted]
    assert Decimal(settled["inputs"]["joint_outcomes_attained"]) == Decimal("0.75")
    assert settled["outputs"]["pot_released"] is False


def test_sick_leave_as_of_a_day_inside_the_period_counts_the_rest_as_no_change(
    utfall, root, tmp_path
):
    out = tmp_path / "sick-leave"
    assert utfall("synth", "sick-leave", "--out", out, "--size", "500").returncode == 0
    contract = root / "examples" / "contracts" / "sick-leave-botkyrka.yaml"
    early = _json(
        utfall(
            "settle", contract, "--data-dir", out, "--as-of", "2019-06-30", "--json", "--explain"
        )
    )
    inputs = early["inputs"]
    assert len(inputs["observed_days_per_employee"]) == 36
    # Months 7–36 are not reached yet: observed as expected, the index as the reference's.
    for month in range(6, 36):
        assert (
            inputs["observed_days_per_employee"][month]
            == (inputs["reference_days_per_employee"][month])
        )
        assert inputs["slt"][month] == inputs["slt_reference"][month]
    full = _json(utfall("settle", contract, "--data-dir", out, "--json"))
    assert (
        inputs["observed_days_per_employee"][:6] == full["inputs"]["observed_days_per_employee"][:6]
    )
    assert Decimal(early["outputs"]["saving_sek"]) < Decimal(full["outputs"]["saving_sek"])
