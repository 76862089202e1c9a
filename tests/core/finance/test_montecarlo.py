"""Distributions, scenario columns and summaries of the Monte Carlo."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from utfall.core.contracts.values import Term
from utfall.core.finance.montecarlo import (
    draw,
    parse_distribution,
    scenario_column,
    summarise,
)
from utfall.core.finance.vectorised import Fixed, VectorisationError


@pytest.mark.parametrize(
    ("text", "kind", "args"),
    [
        ("normal(8e6, 4_000_000)", "normal", (8e6, 4e6)),
        (" uniform( -1 , 2.5 ) ", "uniform", (-1.0, 2.5)),
        ("triangular(0, 1, 3)", "triangular", (0.0, 1.0, 3.0)),
        ("bernoulli(0.6)", "bernoulli", (0.6,)),
        ("1000", "fixed", (1000.0,)),
        ("true", "fixed_boolean", (1.0,)),
    ],
)
def test_parse_distribution(text, kind, args):
    distribution = parse_distribution(text)
    assert (distribution.kind, distribution.args) == (kind, args)


def test_choice_and_bad_distributions():
    choice = parse_distribution("choice(A: 1, B: 3)")
    assert choice.options == (("A", 1.0), ("B", 3.0))
    for text, message in (
        ("gauss(1, 2)", "unknown distribution 'gauss'"),
        ("normal(1)", r"normal\(\) takes 2 argument"),
        ("normal(1, -2)", "out of range"),
        ("bernoulli(1.5)", "out of range"),
        ("uniform(a, 2)", "'a' is not a number"),
        ("choice(A 1)", "NAME: WEIGHT"),
        ("choice(A: 0, B: 0)", "sum to 0"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_distribution(text)


def test_draws_have_the_distribution_s_moments():
    rng = np.random.default_rng(3)
    normal = draw(parse_distribution("normal(100, 10)"), 200_000, rng)
    assert normal.mean() == pytest.approx(100, abs=0.2)
    assert normal.std() == pytest.approx(10, abs=0.1)
    share = draw(parse_distribution("bernoulli(0.3)"), 200_000, rng)
    assert share.dtype == bool and share.mean() == pytest.approx(0.3, abs=0.01)
    picks = draw(parse_distribution("choice(A: 1, B: 3)"), 200_000, rng)
    assert np.mean(picks == "B") == pytest.approx(0.75, abs=0.01)


def test_scenario_columns_round_and_clip_like_the_term_requires():
    money = Term(name="invested", type="money", minimum=Decimal(0))
    column, clipped = scenario_column(money, np.array([-5.0, 1.005, 1234.5678]))
    assert isinstance(column, Fixed) and column.scale == 2
    assert column.ints.tolist() == [0, 100, 123457] and clipped == 1
    count = Term(name="children", type="count")
    column, clipped = scenario_column(count, np.array([-1.0, 2.4, 2.6]))
    assert column.ints.tolist() == [0, 2, 3] and clipped == 1
    ratio = Term(name="share", type="ratio", minimum=Decimal(0), maximum=Decimal(1))
    column, _ = scenario_column(ratio, np.array([0.1234567, 1.2]))
    assert column.ints.tolist() == [123457, 1_000_000] and column.scale == 6
    with pytest.raises(VectorisationError, match="use bernoulli"):
        scenario_column(Term(name="met", type="boolean"), np.array([0.5]))
    with pytest.raises(VectorisationError, match="input 'c': C is not one of A, B"):
        scenario_column(Term(name="c", type="choice", choices=("A", "B")), np.array(["A", "C"]))


def test_summary():
    summary = summarise(np.array([1.0, 2.0, 3.0, 4.0, np.nan]))
    assert summary.count == 4 and summary.mean == 2.5 and summary.median == 2.5
    assert summary.minimum == 1.0 and summary.maximum == 4.0
    assert summarise(np.array([np.nan])) is None
