"""Romano–Wolf as a contract's multiple-testing correction, on real evaluations.

The Norrköping contract's alternative school term ``school_did_met`` is the DiD ``school`` (of
merit points); a second tested input, ``school_passed_met`` (the same DiD of the number of
passed subjects, on the same children, so correlated with the first), makes a family of
two. With ``method: romano_wolf`` both evaluations
are re-run on the same participant resamples of the synthetic tables (``utfall synth
norrkoping``). Checked here: the decision and the explanation, reproducibility from the
seed, that the step-down on the joint draws is never stricter than Bonferroni nor looser
than the raw p-value, that it equals the core step-down on draws made by hand the same
way, and what it refuses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from utfall.adapters.files import DirectoryTables
from utfall.core.contracts import parse_contract
from utfall.errors import ContractInvalid, SpecInvalid
from utfall.services.bindings import inputs_evaluate

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"
DAY = dt.date(2019, 12, 31)

PASSED = """  school_passed:
    label: {sv: Godkända ämnen mot referensgruppen, en: Passed subjects against the reference}
    method: did
    table: school_results
    where: {subject: passed_subjects}
    outcome: score
    post: post
    ci: {method: analytic, level: 0.95}
"""

FAMILY = """
  school_passed_met:
    type: boolean
    description: Whether the included children passed more subjects than the reference.
    evaluate: school_passed
    take: ci_low
    at_least: 0
multiple_testing:
  method: romano_wolf
  alpha: 0.05
  family: [school_did_met, school_passed_met]
  reps: {reps}
  seed: {seed}
"""


def _contract(reps: int = 49, seed: int = 11, method: str = "romano_wolf"):
    text = CONTRACT.read_text(encoding="utf-8")
    assert text.count("\n  school_change:\n") == 1
    text = text.replace("\n  school_change:\n", f"\n{PASSED}  school_change:\n")
    head, tail = text.split("\noutputs:\n", 1)
    block = FAMILY.format(reps=reps, seed=seed).replace("romano_wolf", method)
    return parse_contract(f"{head}{block}outputs:\n{tail}", source="norrkoping.yaml")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    from utfall.synth import generate

    root = tmp_path_factory.mktemp("norrkoping")
    generate("norrkoping", root, size=40, seed=7)
    return root


def test_romano_wolf_family_decides_and_explains(tables):
    contract = _contract()
    bound = inputs_evaluate(contract, DirectoryTables(tables, contract.data), until=DAY)
    raw = {n: bound.estimates[n].p_value for n in ("school_did_met", "school_passed_met")}
    for name, p in raw.items():
        details = bound.details[name]
        adjusted = details["p_value_romano_wolf"]
        # Never looser than the raw p-value, never stricter than Bonferroni over two
        # (up to the (count + 1) / (B + 1) resolution of 49 draws).
        assert p <= adjusted + 1e-12
        assert adjusted <= min(1.0, 2 * p) + 1 / 50 or adjusted <= 2 / 50
        assert "romano_wolf over school_did_met, school_passed_met" in details["multiple_testing"]
        assert "49 participant resamples, seed 11" in details["multiple_testing"]
        own = details["decision"].split(": own rule ")[1].startswith("met")
        assert bound.values[name] is (own and adjusted <= 0.05)
    # The same seed gives the same adjustment; another seed another draw.
    again = inputs_evaluate(contract, DirectoryTables(tables, contract.data), until=DAY)
    assert again.details["school_passed_met"]["p_value_romano_wolf"] == pytest.approx(
        bound.details["school_passed_met"]["p_value_romano_wolf"]
    )


def test_romano_wolf_equals_the_step_down_on_tables_resampled_by_hand(tables):
    """The definition, the slow way: the declared tables themselves resampled by
    participant (seed 11, the participants the evaluations read, each drawn slot under a
    new pseudonym in every table), the whole pipeline re-run on each resample, and the
    core ``romano_wolf`` step-down on those statistics, equal the contract's figures
    (which draw from the evaluations' rows once read)."""
    import pyarrow as pa

    from utfall.core.contracts.data import IDENTITY_COLUMN
    from utfall.core.evaluation.multiple_testing import romano_wolf
    from utfall.services.bindings import _prepared, evaluation_tables
    from utfall.services.evaluation import evaluate
    from utfall.services.frames import evaluation_frame
    from utfall.services.tables import ArrowTables

    reps = 19
    contract = _contract(reps=reps)
    provider = DirectoryTables(tables, contract.data)
    bound = inputs_evaluate(contract, provider, until=DAY)
    evaluations = ["school", "school_passed"]
    data, context, _ = _prepared(contract, provider, evaluations, DAY, None)
    needed = sorted(
        {t for e in evaluations for t in evaluation_tables(contract, contract.evaluations[e])}
    )
    arrow = {t: data.table(t) for t in needed}
    ids = sorted(
        {
            v
            for e in evaluations
            for v in evaluation_frame(
                contract.evaluations[e], data, context.declaration, context.periods, until=DAY
            )
            .column(IDENTITY_COLUMN)
            .to_pylist()
        }
    )
    base = {e: evaluate(contract.evaluations[e], data, context) for e in evaluations}
    rng = np.random.default_rng(11)
    draws = []
    for _ in range(reps):
        chosen = rng.integers(0, len(ids), size=len(ids))
        drawn = {}
        for t in needed:
            column = arrow[t].column(IDENTITY_COLUMN).to_pylist()
            take, names = [], []
            for j, c in enumerate(chosen):
                rows = [i for i, v in enumerate(column) if v == ids[c]]
                take += rows
                names += [f"{ids[c]}#{j}"] * len(rows)
            table = arrow[t].take(pa.array(take, type=pa.int64()))
            index = table.schema.get_field_index(IDENTITY_COLUMN)
            drawn[t] = table.set_column(index, IDENTITY_COLUMN, pa.array(names, type=pa.string()))
        star = {
            e: evaluate(contract.evaluations[e], ArrowTables(drawn), context) for e in evaluations
        }
        draws.append(
            [(star[e].estimate - base[e].estimate) / star[e].std_error for e in evaluations]
        )
    expected = romano_wolf([base[e].estimate / base[e].std_error for e in evaluations], draws)
    got = (
        bound.details["school_did_met"]["p_value_romano_wolf"],
        bound.details["school_passed_met"]["p_value_romano_wolf"],
    )
    assert got == pytest.approx(expected)


def test_romano_wolf_options_are_checked():
    with pytest.raises(ContractInvalid) as raised:
        _contract(reps=5)
    assert any("reps" in str(f) for f in raised.value.findings)
    with pytest.raises(ContractInvalid):
        _contract(method="romano_wolff")


def test_romano_wolf_refuses_a_counting_evaluation(tables):
    """A family member decided by a method that counts (an aggregate, a rate card) has no
    test statistic to resample: refused, with the alternative named."""
    from utfall.services.evaluation import EvaluationContext
    from utfall.services.multiple_testing import family_romano_wolf

    contract = _contract()
    assert contract.evaluations["drawn"].method == "aggregate"
    with pytest.raises(SpecInvalid, match=r"counts rather than tests.*use holm instead"):
        family_romano_wolf(
            contract,
            DirectoryTables(tables, contract.data),
            EvaluationContext(),
            {"school_did_met": "drawn", "school_passed_met": "school_passed"},
            {},
            reps=19,
            seed=1,
            alpha=0.05,
        )
