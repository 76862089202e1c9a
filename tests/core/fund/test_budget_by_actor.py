"""The budget by actor (seed 003 table 12) and the top-up funding mode.

Seed 003, Tabell 12 ("Uppskattad fördelning av angiven budget på olika aktörsnivåer per år
i miljoner kronor"): "Statliga aktörer (delegation, myndigheter, akademi) 14 14 14 14 14 14
84 / SKR + RISE 2 18 10 10 10 21 71 / Konstellationer 10 10 30 60 100 210 / Totalt 365".

Seed 003 (Internationella erfarenheter): "Life Chances Fund föreskriver att för varje
projekt är lokala kommissionärer majoritetsutbetalare, där Life Chances Fund förväntades
bidra med totalt 48 miljoner pund [...] finansiering i genomsnitt cirka 32 procent av
resultatbetalningar".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.fund import (
    MSEK,
    PILOT_ACTOR_BUDGET,
    PILOT_BUDGET,
    Actor,
    ActorBudget,
    BudgetExceeded,
    Commitment,
    CostShareCap,
    FundState,
    Payment,
    PaymentKind,
    TopUp,
    budget_by_actor,
    decide_payment,
    funding_mode,
    top_up_limit,
)

TABLE_12 = {
    Actor.STATE: {2023: 14, 2024: 14, 2025: 14, 2026: 14, 2027: 14, 2028: 14},
    Actor.SKR_RISE: {2023: 2, 2024: 18, 2025: 10, 2026: 10, 2027: 10, 2028: 21},
    Actor.CONSTELLATIONS: {2024: 10, 2025: 10, 2026: 30, 2027: 60, 2028: 100},
}


def _state(**kwargs) -> FundState:
    return FundState(PILOT_BUDGET, actors=PILOT_ACTOR_BUDGET, **kwargs)


def test_pilot_split_is_seed_003_table_12_and_adds_up_to_table_11():
    for actor, by_year in TABLE_12.items():
        for year, amount in by_year.items():
            assert PILOT_ACTOR_BUDGET.amount(actor, year) == amount * MSEK
    assert PILOT_ACTOR_BUDGET.amount(Actor.STATE) == 84 * MSEK
    assert PILOT_ACTOR_BUDGET.amount(Actor.SKR_RISE) == 71 * MSEK
    assert PILOT_ACTOR_BUDGET.amount(Actor.CONSTELLATIONS) == 210 * MSEK
    assert PILOT_ACTOR_BUDGET.amount(Actor.CONSTELLATIONS, 2023) == 0
    assert PILOT_ACTOR_BUDGET.fits(PILOT_BUDGET)


def test_a_split_that_does_not_add_up_is_refused():
    wrong = ActorBudget.from_table(
        {**TABLE_12, Actor.SKR_RISE: {**TABLE_12[Actor.SKR_RISE], 2025: 11}}
    )
    assert not wrong.fits(PILOT_BUDGET)
    with pytest.raises(ValueError, match="does not add up"):
        FundState(PILOT_BUDGET, actors=wrong)


def test_outcome_payments_never_consume_the_skr_and_rise_share():
    # 2025: table 11 puts 20 MSEK in phase 3 implementation, of which table 12 gives the
    # constellations 10 and SKR + RISE 10. Without the split the whole 20 could be paid out.
    without = FundState(PILOT_BUDGET)
    assert without.available_for(year=2025, constellation="K-01") == 34 * MSEK
    state = _state()
    assert state.available_for(year=2025, constellation="K-01") == 10 * MSEK
    state = state.with_payment(Payment("K-01", 2025, 6 * MSEK))
    with pytest.raises(BudgetExceeded, match="other actors"):
        state.with_payment(Payment("K-02", 2025, Decimal("4000000.01")))
    # Support to a constellation (its local project leader) comes from the same line.
    with pytest.raises(BudgetExceeded, match="other actors"):
        state.with_payment(Payment("K-02", 2025, 5 * MSEK, kind=PaymentKind.SUPPORT))
    state = state.with_payment(Payment("K-02", 2025, 4 * MSEK))
    assert state.available_for(year=2025, constellation="K-03") == 0
    # The fund's own work is not limited by the constellations' line.
    state.with_payment(Payment("fund:skr_rise", 2025, 1 * MSEK, kind=PaymentKind.OPERATIONS))


def test_the_budget_rule_cuts_at_the_constellations_share():
    state = _state().with_payment(Payment("K-01", 2025, 8 * MSEK))
    decision = decide_payment(
        state,
        mode=CostShareCap(),
        constellation="K-02",
        year=2025,
        outcome_value=5 * MSEK,
        reported_costs=20 * MSEK,
    )
    assert decision.payment == 2 * MSEK
    assert decision.binding == "year_budget"
    assert decision.cut_by_budget == 3 * MSEK


def test_commitments_to_constellations_stay_inside_their_share():
    state = _state().with_commitment(Commitment("K-01", 2026, 25 * MSEK))
    with pytest.raises(BudgetExceeded, match="constellations' share"):
        state.with_commitment(Commitment("K-02", 2026, Decimal("5000000.01")))
    state = state.with_commitment(Commitment("K-02", 2026, 5 * MSEK))
    assert state.available_for(year=2026, constellation="K-03") == 0
    assert state.available_for(year=2026, constellation="K-01") == 25 * MSEK


def test_budget_by_actor_headroom_of_a_past_year_is_lapsed_not_spendable():
    state = (
        _state()
        .with_commitment(Commitment("K-01", 2025, 6 * MSEK))
        .with_commitment(Commitment("K-01", 2026, 12 * MSEK))
        .with_payment(Payment("K-01", 2025, 4 * MSEK))
    )
    rows = {(r.actor, r.year): r for r in budget_by_actor(state, today=date(2026, 3, 1))}
    past = rows[(Actor.CONSTELLATIONS, 2025)]
    assert (past.budget, past.committed, past.paid) == (10 * MSEK, 6 * MSEK, 4 * MSEK)
    assert past.is_past and past.headroom == 0 and past.lapsed == 6 * MSEK
    current = rows[(Actor.CONSTELLATIONS, 2026)]
    assert not current.is_past
    assert (current.committed, current.paid, current.headroom) == (12 * MSEK, 0, 18 * MSEK)
    skr = rows[(Actor.SKR_RISE, 2024)]
    # SKR and RISE's line is reserved for their own work (booked outside the ledger).
    assert skr.is_past and skr.lapsed == 0 and skr.headroom == 0
    state_line = rows[(Actor.STATE, 2027)]
    assert state_line.committed == 14 * MSEK and state_line.headroom == 0
    assert sum(r.budget for r in rows.values()) == 365 * MSEK
    assert budget_by_actor(FundState(PILOT_BUDGET), today=date(2026, 3, 1)) == []


def test_top_up_pays_32_percent_of_the_commissioners_outcome_payments():
    # The Life Chances Fund's 48 MSEK-equivalent: about 32 % of 150 in outcome payments.
    decision = top_up_limit(
        commissioner_payments=150 * MSEK,
        paid_before=Decimal(0),
        year_available=200 * MSEK,
        share=Decimal("0.32"),
    )
    assert decision.payment == 48 * MSEK
    assert decision.binding == "top_up"
    assert "share of the commissioner" in decision.explanation()[-1]
    # A later report: due to date less what the fund paid before.
    later = top_up_limit(
        commissioner_payments=Decimal("10000000.00"),
        paid_before=Decimal("2000000.00"),
        year_available=100 * MSEK,
        share=Decimal("0.32"),
    )
    assert later.payment == Decimal("1200000.00")


def test_top_up_rounds_down_and_is_limited_by_the_constellations_share():
    odd = top_up_limit(
        commissioner_payments=Decimal("0.03"),
        paid_before=Decimal(0),
        year_available=MSEK,
        share=Decimal("0.32"),
    )
    assert odd.payment == Decimal("0.00")
    state = _state().with_payment(Payment("K-01", 2025, 9 * MSEK))
    decision = decide_payment(
        state,
        mode=TopUp(Decimal("0.32")),
        constellation="K-02",
        year=2025,
        outcome_value=10 * MSEK,
        reported_costs=Decimal(0),
    )
    assert decision.payment == 1 * MSEK and decision.binding == "year_budget"
    assert decision.cut_by_budget == Decimal("2200000.00")


def test_funding_mode_from_contract_parameters():
    assert funding_mode({}, max_share=Decimal("0.5")) == CostShareCap(Decimal("0.5"))
    assert funding_mode({"fund_top_up_share": "0.32"}, max_share=Decimal("0.5")) == TopUp(
        Decimal("0.32")
    )
    assert funding_mode({"fund_top_up_share": 0}, max_share=Decimal("0.5")) == CostShareCap(
        Decimal("0.5")
    )
    with pytest.raises(ValueError):
        TopUp(Decimal("1.2"))


@settings(max_examples=60, deadline=None)
@given(
    share=st.decimals(min_value="0.01", max_value="1", places=2),
    paid=st.decimals(min_value=0, max_value=10**8, places=2),
    before=st.decimals(min_value=0, max_value=10**8, places=2),
)
def test_top_up_never_pays_above_its_share(share, paid, before):
    decision = top_up_limit(
        commissioner_payments=paid,
        paid_before=before,
        year_available=10**9 * Decimal(1),
        share=share,
    )
    assert decision.payment >= 0
    assert decision.payment + before <= max(share * paid, before)
