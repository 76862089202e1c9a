"""A ratio or number the contract gives the unit ``share`` reads as per cent on a
statement (the fund's state share of the costs was shown as ``0,4117``)."""

from __future__ import annotations

from decimal import Decimal

from settlement_helpers import ROOT


def _fund_contract():
    from utfall.core.contracts import parse_contract

    path = ROOT / "examples" / "contracts" / "national-fund-constellation.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=path.name)


def test_a_share_is_shown_as_per_cent_in_both_languages():
    from utfall.platform.settlements.presentation import figure

    document = _fund_contract()
    assert document.outputs["state_share_of_costs"].unit == "share"
    assert figure(document, "state_share_of_costs", Decimal("0.4117"), "sv") == "41,17\u00a0%"
    assert figure(document, "state_share_of_costs", Decimal("0.4117"), "en") == "41.17%"


def test_a_ratio_without_the_unit_stays_a_number():
    from utfall.platform.settlements.presentation import figure

    document = _fund_contract()
    ratio = next(
        name
        for name, term in {**document.inputs, **document.outputs}.items()
        if term.type in ("ratio", "number") and getattr(term, "unit", None) != "share"
    )
    assert "%" not in figure(document, ratio, Decimal("1.2"), "sv")
