"""A settlement where a DiD figure pays shows its parallel-trends sensitivity.

The Norrköping contract's ``school_did_met`` is decided by the DiD evaluation
``school`` (its alternative school term, issue 17); when that evaluation carries a Rambachan–Roth sensitivity result, the input's
explanation shows the breakdown value and the robust intervals. The evaluations are
stubbed: this checks what the settlement shows, not the estimators.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utfall.adapters.files import contract_read
from utfall.core.evaluation.result import Estimate
from utfall.services import bindings
from utfall.services.contracts import contract_settle

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"

SENSITIVITY = {
    "method": "smoothness",
    "bound_name": "M",
    "target": 0,
    "weights": [1.0, 0.0],
    "pre_periods": [-3, -2],
    "post_periods": [0, 1],
    "reference": -1,
    "level": 0.95,
    "ci_method": "FLCI",
    "estimate": 4.0,
    "original": {"ci_low": 2.0, "ci_high": 6.0},
    "intervals": [
        {"bound": 0.0, "ci_low": 1.5, "ci_high": 6.5, "excludes_zero": True},
        {"bound": 0.5, "ci_low": 0.2, "ci_high": 7.8, "excludes_zero": True},
        {"bound": 1.0, "ci_low": -1.0, "ci_high": 9.0, "excludes_zero": False},
    ],
    "breakdown": 0.5,
}


class _NoTables:
    def describe(self, name: str) -> str:
        return name


@pytest.fixture
def stubbed(monkeypatch):
    contract = contract_read(CONTRACT)

    def run(contract, tables, names, **_):
        estimates = {}
        for name in names:
            extras = {"value": 1_000_000.0, "cumulative_saving": 2_000_000.0}
            if name == "school":
                extras["sensitivity"] = SENSITIVITY
            estimates[name] = Estimate(
                method=contract.evaluations[name].method,
                estimate=4.0,
                std_error=1.0,
                ci_low=2.0,
                ci_high=6.0,
                p_value=0.001,
                n_treated=30,
                n_control=200,
                n_obs=460,
                extras=extras,
            )
        digests = {
            table: "0" * 64
            for name in names
            for table in bindings.evaluation_tables(contract, contract.evaluations[name])
        }
        return estimates, digests

    monkeypatch.setattr(bindings, "evaluations_run", run)
    return contract


def test_did_input_explanation_shows_breakdown_and_robust_intervals(stubbed):
    run = contract_settle(stubbed, tables=_NoTables())
    explanation = run.settlement.explain("school_did_met")
    details = explanation.details
    assert details["sensitivity_breakdown"] == "M = 0.5"
    assert details["sensitivity_robust_ci_95"] == {
        "M=0": [1.5, 6.5],
        "M=0.5": [0.2, 7.8],
        "M=1": [-1.0, 9.0],
    }
    assert "smoothness (ΔSD)" in details["parallel_trends_sensitivity"]
    text = "\n".join(explanation.lines())
    assert "sensitivity_breakdown: M = 0.5" in text
    # An input whose evaluation has no sensitivity result shows none.
    assert "sensitivity_breakdown" not in run.settlement.explain("net_savings_sek").details


# --------------------------------------------------------------------- multiple testing

FAMILY = """
  school_change_met:
    type: boolean
    description: Whether the included children's school scores rose (pre/post).
    evaluate: school_change
    take: ci_low
    at_least: 0
multiple_testing:
  method: holm
  alpha: 0.05
  family: [school_did_met, school_change_met]
"""


def _with_family(text: str, block: str = FAMILY) -> str:
    head, tail = text.split("\noutputs:\n", 1)
    return f"{head}{block}outputs:\n{tail}"


def _stub(monkeypatch, p_values):
    def run(contract, tables, names, **_):
        estimates = {
            name: Estimate(
                method=contract.evaluations[name].method,
                estimate=4.0,
                std_error=1.0,
                ci_low=2.0,  # every own rule (ci_low ≥ 0) holds
                ci_high=6.0,
                p_value=p_values.get(name, 0.5),
                n_treated=30,
                n_control=200,
                n_obs=460,
                extras={"value": 1_000_000.0, "cumulative_saving": 2_000_000.0},
            )
            for name in names
        }
        digests = {
            table: "0" * 64
            for name in names
            for table in bindings.evaluation_tables(contract, contract.evaluations[name])
        }
        return estimates, digests

    monkeypatch.setattr(bindings, "evaluations_run", run)


def test_holm_family_decides_on_adjusted_p_values(monkeypatch):
    from utfall.core.contracts.model import parse_contract

    contract = parse_contract(_with_family(CONTRACT.read_text(encoding="utf-8")))
    # Both pass on their own (p ≤ 0.05, ci_low ≥ 0); Holm over two: the smaller, 0.03,
    # becomes 0.06 and the larger, 0.04, max(0.06, 0.04) = 0.06: neither is paid.
    _stub(monkeypatch, {"school": 0.03, "school_change": 0.04})
    run = contract_settle(contract, tables=_NoTables())
    assert run.settlement.inputs["school_did_met"] is False
    assert run.settlement.inputs["school_change_met"] is False
    details = run.settlement.explain("school_did_met").details
    assert details["p_value"] == 0.03
    assert details["p_value_holm"] == pytest.approx(0.06)
    assert details["decision"].startswith("false: own rule met, adjusted p-value 0.06 > 0.05")
    assert "holm over school_did_met, school_change_met" in details["multiple_testing"]
    assert "p_value_holm: 0.06" in "\n".join(run.settlement.explain("school_did_met").lines())


def test_benjamini_hochberg_family_keeps_what_survives(monkeypatch):
    from utfall.core.contracts.model import parse_contract

    block = FAMILY.replace("method: holm", "method: benjamini_hochberg")
    contract = parse_contract(_with_family(CONTRACT.read_text(encoding="utf-8"), block))
    # BH over two: 0.03 → 0.04 and 0.04 → 0.04: both kept.
    _stub(monkeypatch, {"school": 0.03, "school_change": 0.04})
    run = contract_settle(contract, tables=_NoTables())
    assert run.settlement.inputs["school_did_met"] is True
    assert run.settlement.inputs["school_change_met"] is True
    details = run.settlement.explain("school_change_met").details
    assert details["p_value_benjamini_hochberg"] == pytest.approx(0.04)


def test_family_member_must_be_a_boolean_decided_by_an_evaluation():
    from utfall.core.contracts.model import parse_contract
    from utfall.errors import ContractInvalid

    block = FAMILY.replace(
        "[school_did_met, school_change_met]", "[school_did_met, net_savings_sek]"
    )
    with pytest.raises(ContractInvalid) as error:
        parse_contract(_with_family(CONTRACT.read_text(encoding="utf-8"), block))
    finding = next(f for f in error.value.findings if f.code == "bad-multiple-testing")
    assert "'net_savings_sek' must be boolean" in finding.message
    assert finding.path == "multiple_testing.family[1]"
