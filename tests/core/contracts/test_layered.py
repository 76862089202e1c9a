"""Layered contracts (issue 17): a contract takes another contract's outputs or inputs.

Seed 004 (the Norrköping economic model): "20% av Iris Hadars ersättning avhängig
förbättrade skolutfall" – the tutoring firm's pay depends on the outcome contract's school
results; and for sick leave "Ett internt utfallskontrakt och ett utfallsbaserat
leverantörskontrakt bidrar till ökad kontroll" – the internal contract (HR as project owner
towards the municipal leadership) sits beside the supplier contract.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from utfall.core.contracts import parse_contract, settle
from utfall.core.contracts.layered import (
    check_links,
    link_findings,
    linked_value,
    settlement_order,
)
from utfall.errors import ContractInvalid, FactsInvalid, UserError

UPSTREAM = """
id: up
title: Upstream
version: "1"
parties:
  - {id: a, name: A, role: commissioner}
  - {id: b, name: B, role: provider}
inputs:
  saved_sek: {type: money}
  met: {type: boolean}
  monthly: {type: series, of: number, length: 3}
outputs:
  paid_sek: {type: money, formula: "max(saved_sek, 0)"}
  share: {type: ratio, formula: "0.5"}
"""

SHA = "ab" * 32


def downstream(link: str, *, type_: str = "money", id_: str = "down", extra: str = "") -> str:
    return f"""
id: {id_}
title: Downstream
version: "1"
parties:
  - {{id: a, name: A, role: commissioner}}
  - {{id: c, name: C, role: provider}}
inputs:
  taken: {{type: {type_}{extra}, from_contract: {link}}}
outputs:
  pay_sek: {{type: money, formula: "{"if taken then 100 else 0" if type_ == "boolean" else "0"}"}}
payments:
  - {{id: pay, from: a, to: c, label: Betalning, amount: pay_sek}}
"""


@pytest.fixture
def upstream():
    return parse_contract(UPSTREAM, source="up.yaml")


def test_an_input_declares_the_contract_and_output_it_comes_from(upstream):
    contract = parse_contract(downstream("{contract: up, output: paid_sek}"), source="d.yaml")
    link = contract.inputs["taken"].from_contract
    assert (link.contract, link.kind, link.name) == ("up", "output", "paid_sek")
    assert contract.upstream_links() == {"taken": link}
    assert link_findings(contract, {"up": upstream}) == []
    by_input = parse_contract(
        downstream("{contract: up, input: met}", type_="boolean"), source="d.yaml"
    )
    assert by_input.inputs["taken"].from_contract.kind == "input"
    check_links(by_input, {"up": upstream})


@pytest.mark.parametrize(
    "link, message",
    [
        ("{contract: up}", "exactly one of 'output' or 'input'"),
        ("{contract: up, output: paid_sek, input: met}", "exactly one of 'output' or 'input'"),
        ("{contract: Up!, output: paid_sek}", "should match pattern"),
    ],
)
def test_a_link_names_one_figure_of_one_contract(link, message):
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(downstream(link), source="d.yaml")
    assert any(message in f.message for f in caught.value.findings), caught.value.findings
    assert any("inputs.taken.from_contract" in (f.path or "") for f in caught.value.findings)


def test_an_input_comes_from_an_evaluation_or_a_contract_not_both():
    text = downstream("{contract: up, output: paid_sek}").replace(
        "from_contract:", "evaluate: costs, from_contract:"
    )
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text, source="d.yaml")
    assert "not both" in str(caught.value.findings)


def test_a_contract_cannot_take_its_own_figures():
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(downstream("{contract: down, output: pay_sek}"), source="d.yaml")
    (finding,) = caught.value.findings
    assert finding.code == "bad-link"
    assert finding.path == "inputs.taken.from_contract.contract"


def test_an_unknown_upstream_contract_is_a_finding_naming_the_field(upstream):
    contract = parse_contract(downstream("{contract: other, output: paid_sek}"), source="d.yaml")
    (finding,) = link_findings(contract, {"up": upstream})
    assert finding.code == "unknown-upstream"
    assert finding.path == "inputs.taken.from_contract.contract"
    assert finding.line is not None
    assert "'other'" in finding.message and "up" in finding.message
    with pytest.raises(ContractInvalid):
        check_links(contract, {"up": upstream})


@pytest.mark.parametrize(
    "link, field",
    [("{contract: up, output: paid}", "output"), ("{contract: up, input: gone}", "input")],
)
def test_an_unknown_upstream_output_or_input_is_a_finding_naming_the_field(upstream, link, field):
    contract = parse_contract(downstream(link), source="d.yaml")
    (finding,) = link_findings(contract, {"up": upstream})
    assert finding.code == "unknown-upstream-name"
    assert finding.path == f"inputs.taken.from_contract.{field}"
    assert "paid_sek" in finding.message or "saved_sek" in finding.message  # lists what there is


@pytest.mark.parametrize(
    "link, type_, extra, fits",
    [
        ("{contract: up, output: paid_sek}", "money", "", True),
        ("{contract: up, output: paid_sek}", "number", "", True),  # money is a number
        ("{contract: up, output: share}", "ratio", "", True),
        ("{contract: up, output: paid_sek}", "boolean", "", False),
        ("{contract: up, output: paid_sek}", "ratio", "", False),  # money is not a ratio
        ("{contract: up, input: met}", "money", "", False),
        ("{contract: up, input: monthly}", "series", ", of: number, length: 3", True),
        ("{contract: up, input: monthly}", "series", ", of: number, length: 4", False),
        ("{contract: up, input: monthly}", "series", ", of: money, length: 3", False),
    ],
)
def test_the_types_must_fit(upstream, link, type_, extra, fits):
    contract = parse_contract(downstream(link, type_=type_, extra=extra), source="d.yaml")
    findings = link_findings(contract, {"up": upstream})
    if fits:
        assert findings == []
    else:
        (finding,) = findings
        assert finding.code == "link-type"
        assert finding.path.startswith("inputs.taken.from_contract.")


def test_contracts_are_settled_upstream_first_and_a_cycle_is_named(upstream):
    middle = parse_contract(
        downstream("{contract: up, output: paid_sek}", id_="middle"), source="m.yaml"
    )
    last = parse_contract(
        downstream("{contract: middle, output: pay_sek}", id_="last"), source="l.yaml"
    )
    assert settlement_order([last, middle, upstream]) == ("up", "middle", "last")
    a = parse_contract(downstream("{contract: b, output: pay_sek}", id_="a"), source="a.yaml")
    b = parse_contract(downstream("{contract: a, output: pay_sek}", id_="b"), source="b.yaml")
    with pytest.raises(UserError, match=r"cycle: (a → b → a|b → a → b)"):
        settlement_order([a, b])
    with pytest.raises(UserError, match="more than once"):
        settlement_order([upstream, upstream])


def test_a_linked_value_names_the_upstream_settlement_in_the_explanation():
    contract = parse_contract(
        downstream("{contract: up, input: met}", type_="boolean"), source="d.yaml"
    )
    linked = settle(contract, {"taken": {"value": True, "settlement": SHA}})
    node = linked.explain("taken")
    assert node.origin == f"from contract up input met, settlement {SHA}"
    assert node.details == {"from_contract": "up", "input": "met", "settlement_sha256": SHA}
    assert linked.payments[0].amount == Decimal("100")
    assert "settlement " + SHA in "\n".join(linked.explain("pay").lines())
    plain = settle(contract, {"taken": True})  # a test case, a statement settled again
    assert plain.explain("taken").origin == "facts"
    assert plain.payments[0].amount == linked.payments[0].amount


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"value": True}, "{value: …, settlement: SHA-256}"),
        ({"value": True, "settlement": "nope"}, "not a SHA-256"),
    ],
)
def test_a_malformed_linked_value_is_a_located_problem(raw, message):
    contract = parse_contract(
        downstream("{contract: up, input: met}", type_="boolean"), source="d.yaml"
    )
    with pytest.raises(FactsInvalid) as caught:
        settle(contract, {"taken": raw})
    (finding,) = caught.value.findings
    assert finding.path == "taken" and message in finding.message
    with pytest.raises(ValueError):
        linked_value(raw)


def test_the_shipped_layered_contracts_link_to_what_their_upstreams_have(examples):
    """Seed 004: "20% av Iris Hadars ersättning avhängig förbättrade skolutfall" (the
    tutoring provider takes the outcome contract's school-results decision); "Ett internt
    utfallskontrakt och ett utfallsbaserat leverantörskontrakt" (the internal HR contract
    takes the supplier contract's reduction and saving)."""

    def load(name):
        path = examples / "contracts" / f"{name}.yaml"
        return parse_contract(path.read_text(encoding="utf-8"), source=str(path))

    tutoring = load("norrkoping-tutoring-provider")
    assert {link.contract for link in tutoring.upstream_links().values()} == {
        "norrkoping-placed-children"
    }
    check_links(tutoring, {"norrkoping-placed-children": load("norrkoping-placed-children")})
    assert tutoring.parameters["contingent_share"].default == Decimal("0.20")
    hr = load("sick-leave-internal-hr")
    assert {link.contract for link in hr.upstream_links().values()} == {"sick-leave-botkyrka"}
    check_links(hr, {"sick-leave-botkyrka": load("sick-leave-botkyrka")})
    assert any("Seed 004" in source for source in tutoring.sources + hr.sources)


def test_the_tutoring_pay_is_the_fee_split_80_20_on_the_upstream_decision(examples):
    """Seed 004: "20% av Iris Hadars ersättning avhängig förbättrade skolutfall": for any
    fee, the contingent part is paid exactly when the outcome contract's school results
    improved, the rest on delivery, never more than the fee."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    path = examples / "contracts" / "norrkoping-tutoring-provider.yaml"
    contract = parse_contract(path.read_text(encoding="utf-8"), source=str(path))

    @settings(max_examples=60, deadline=None)
    @given(
        fee=st.decimals(min_value=0, max_value=10**8, places=2),
        delivered=st.booleans(),
        improved=st.booleans(),
    )
    def check(fee, delivered, improved):
        result = settle(
            contract,
            {
                "tutoring_delivered": delivered,
                "school_results_improved": {"value": improved, "settlement": SHA},
            },
            overrides={"tutoring_fee_sek": str(fee)},
        )
        paid = {p.id: p.amount for p in result.payments}
        assert paid["fixed"] + paid["contingent"] <= fee + Decimal("0.01")
        assert (paid["contingent"] > 0) == (delivered and improved and fee >= Decimal("0.03"))
        assert (paid["fixed"] > 0) == (delivered and fee >= Decimal("0.01"))
        assert result.explain("school_results_improved").details["settlement_sha256"] == SHA

    check()
