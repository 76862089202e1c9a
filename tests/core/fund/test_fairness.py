"""Seed 003's fairness rule (003_7d5cf87c6e04e6cb.txt, bilaga 2): municipalities and regions
"ska slippa återbetalning till en eventuell fond om man gjort allt man förmår men trots det
inte nått önskat resultat, men återföra medel som inte använts eller om man inte gjort en
tillräcklig ansträngning enligt avtal"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.core.fund.fairness import DID_ALL, INSUFFICIENT, fairness_rule
from utfall.errors import UserError

money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False)


@pytest.mark.parametrize(
    ("effort", "used", "repayment", "expected"),
    [
        (DID_ALL, "300", "0", ("100.00", "0.00")),
        (INSUFFICIENT, "300", "250", ("100.00", "250.00")),
    ],
)
def test_the_fairness_rule(effort, used, repayment, expected):
    outcome = fairness_rule(
        effort=effort,
        support_paid=Decimal("400"),
        support_used=Decimal(used),
        outcome_paid=Decimal("1000"),
        repayment=Decimal(repayment),
    )
    assert (str(outcome.unused_returned), str(outcome.repayment)) == expected
    assert outcome.total == outcome.unused_returned + outcome.repayment
    assert outcome.explanation


def test_the_fairness_rule_refuses_what_it_does_not_allow():
    arguments = {
        "support_paid": Decimal("400"),
        "support_used": Decimal("300"),
        "outcome_paid": Decimal("1000"),
    }
    with pytest.raises(UserError, match="repays nothing"):
        fairness_rule(effort=DID_ALL, repayment=Decimal("1"), **arguments)
    with pytest.raises(UserError, match="at most"):
        fairness_rule(effort=INSUFFICIENT, repayment=Decimal("1301"), **arguments)
    with pytest.raises(UserError, match="more than 0"):
        fairness_rule(effort=INSUFFICIENT, repayment=Decimal("0"), **arguments)
    with pytest.raises(UserError, match="unknown effort"):
        fairness_rule(effort="tried", repayment=Decimal(0), **arguments)
    with pytest.raises(UserError, match="support used"):
        fairness_rule(
            effort=DID_ALL,
            repayment=Decimal(0),
            support_paid=Decimal("1"),
            support_used=Decimal("2"),
            outcome_paid=Decimal(0),
        )


@given(paid=money, used_share=st.fractions(0, 1), outcome_paid=money)
def test_who_did_all_returns_only_the_unused_support(paid, used_share, outcome_paid):
    used = (paid * Decimal(used_share.numerator) / Decimal(used_share.denominator)).quantize(
        Decimal("0.01")
    )
    used = min(used, paid)
    outcome = fairness_rule(
        effort=DID_ALL,
        support_paid=paid,
        support_used=used,
        outcome_paid=outcome_paid,
        repayment=Decimal(0),
    )
    assert outcome.repayment == 0
    assert outcome.unused_returned == paid - used
    assert 0 <= outcome.total <= paid


@given(paid=money, outcome_paid=money, share=st.fractions(0, 1))
def test_a_repayment_never_exceeds_what_was_paid(paid, outcome_paid, share):
    most = paid + outcome_paid
    repayment = (most * Decimal(share.numerator) / Decimal(share.denominator)).quantize(
        Decimal("0.01")
    )
    if not 0 < repayment <= most:
        return
    outcome = fairness_rule(
        effort=INSUFFICIENT,
        support_paid=paid,
        support_used=paid,
        outcome_paid=outcome_paid,
        repayment=repayment,
    )
    assert outcome.total <= paid + outcome_paid
