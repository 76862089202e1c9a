"""The engine's errors reach pages in the reader's language (utfall.platform.messages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from utfall.core.contracts import parse_contract, settle
from utfall.core.contracts.data import CellError, convert_cell
from utfall.core.evaluation.few_treated import one_treated_refusal
from utfall.errors import (
    ContractInvalid,
    EvaluationError,
    FactsInvalid,
    Finding,
    FormulaError,
    UserError,
)
from utfall.platform.messages import (
    error_context,
    error_message,
    finding_message,
    translate,
    translate_text,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"
NORRKOPING = EXAMPLES / "norrkoping-placed-children.yaml"


@pytest.fixture(scope="module")
def norrkoping():
    return parse_contract(NORRKOPING.read_text(encoding="utf-8"), source=str(NORRKOPING))


def test_errors_carry_a_stable_code_and_params() -> None:
    error = UserError("the period ends before it starts", code="period-order")
    assert error.code == "period-order" and error.params == {}
    assert UserError("x").code == "user-error"
    assert EvaluationError("x").code == "evaluation-failed"
    formula = FormulaError("unknown name 'x'", params={"value": "x"}).with_context(name="y")
    assert formula.code == "formula" and formula.params == {"value": "x"}
    assert Finding("c", "m", params={"a": 1}) == Finding("c", "m")  # params do not compare


def test_a_date_that_does_not_exist_in_swedish_and_english() -> None:
    from utfall.core.contracts.data import Column, Label

    column = Column(name="d", type="date", label=Label("Datum", "Date"))
    with pytest.raises(CellError) as caught:
        convert_cell(column, "2021-02-30", decimal_comma=False)
    text = str(caught.value)
    assert translate_text(text, "sv") == "”2021-02-30” är inget datum som finns"
    code, params = getattr(caught.value, "code", None), getattr(caught.value, "params", None)
    assert translate(code, params, text, "sv") == "”2021-02-30” är inget datum som finns"
    assert translate_text(text, "en") == "“2021-02-30” is not a date that exists"
    # by code and params, as an error raised with them is said
    assert translate("date-not-exists", {"value": "2021-13-01"}, "", "sv") == (
        "”2021-13-01” är inget datum som finns"
    )


def test_settlement_inputs_named_by_their_labels(norrkoping) -> None:
    with pytest.raises(FactsInvalid) as caught:
        settle(
            norrkoping,
            {
                "invested_sek": "abc",
                "net_savings_sek": 0,
                "school_did_met": True,
                "delivered_as_agreed": True,
            },
        )
    context = error_context(caught.value, "sv", norrkoping)
    assert context["error"] == "De angivna utfallen har 2 fel."
    assert "Investerat belopp (avropat): ”abc” är inte ett tal" in context["findings"]
    assert "Skolresultaten når överenskomna nivåer: värdet saknas" in context["findings"]
    english = error_context(caught.value, "en", norrkoping)
    assert "Invested amount (drawn): “abc” is not a number" in english["findings"]
    assert all("_sek" not in line for line in context["findings"])


def test_a_money_input_with_ore_and_bounds(norrkoping) -> None:
    with pytest.raises(FactsInvalid) as caught:
        settle(
            norrkoping,
            {
                "invested_sek": "-5",
                "net_savings_sek": "1.005",
                "school_results_met": "kanske",
                "school_did_met": True,
                "delivered_as_agreed": True,
            },
        )
    lines = error_context(caught.value, "sv", norrkoping)["findings"]
    assert "Investerat belopp (avropat): −5 är mindre än det minsta tillåtna värdet, 0" in lines
    assert any(line.startswith("Utvärderad nettobesparing: belopp har högst två") for line in lines)
    assert "Skolresultaten når överenskomna nivåer: ”kanske” är inte ja eller nej" in lines


def test_contract_upload_errors_in_swedish_without_the_file_name() -> None:
    text = NORRKOPING.read_text(encoding="utf-8").replace("to: lsv", "to: lsw", 1)
    text = text.replace("formula: repayment_sek + premium_sek", "formula: repayment_sek + premie")
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text, source="/srv/uploads/norrkoping.yaml")
    context = error_context(caught.value, "sv")
    assert context["error"] == "Kontraktet har 2 fel."
    joined = "\n".join(context["findings"])
    assert "”lsw” är inte en part i kontraktet" in joined
    assert "formeln använder ett okänt namn: premie" in joined
    assert "rad " in joined
    assert "/srv/uploads" not in joined + context["error"]


def test_a_contract_that_is_not_yaml_and_a_missing_field() -> None:
    with pytest.raises(ContractInvalid) as caught:
        parse_contract("- a\n- b\n", source="c.yaml")
    assert error_message(caught.value, "sv") == "Kontraktet kan inte läsas."
    with pytest.raises(ContractInvalid) as caught:
        parse_contract("id: c\nversion: '1'\nparties: []\n", source="c.yaml")
    lines = error_context(caught.value, "sv")["findings"]
    assert any("det obligatoriska fältet ”title” saknas" in line for line in lines)


def test_evaluation_refusals_in_swedish() -> None:
    refusal = one_treated_refusal("kommun", 1, 12)
    context = error_context(refusal, "sv")
    assert context["error"] == "en enda grupp med insats: klusterrobust inferens gäller inte"
    assert context["findings"][0].startswith("kolumn ”kommun”: bara 1 av 12 grupper")
    wrapped = UserError(
        "the evaluation failed: costs.yaml:4: the bootstrap needs at least two units"
    )
    assert error_message(wrapped, "sv") == (
        "Utvärderingen kunde inte göras: bootstrap kräver minst två enheter"
    )
    method = EvaluationError("historical_reference: the reference cohort has no rows")
    assert error_message(method, "sv") == "referensgruppen har inga rader"


def test_settlement_workflow_refusals_in_swedish() -> None:
    assert error_message(UserError("the period ends before it starts"), "sv") == (
        "perioden slutar innan den börjar"
    )
    wrong = UserError("the two-factor code is wrong or was used already; enter the current code")
    assert error_message(wrong, "sv").startswith("engångskoden är fel")


def test_a_formula_error_names_the_output_by_its_label(norrkoping) -> None:
    error = FormulaError("division by zero", name="financier_multiple", line=1, column=5)
    assert error_message(error, "sv", norrkoping) == (
        "I formeln Återbetalning per investerad krona: division med noll"
    )


def test_an_unknown_message_stays_as_it_is() -> None:
    assert error_message(UserError("something new went wrong"), "sv") == "something new went wrong"
    # a wrapper does not drop a prefix in front of what it cannot read
    assert translate_text("colour: something new", "sv") == "colour: something new"
    finding = Finding("x", "a new kind of problem", file="/srv/x.csv", row=3)
    assert finding_message(finding, "sv") == "rad 3: a new kind of problem"


def test_every_template_is_translated_into_swedish() -> None:
    from django.utils import translation
    from django.utils.functional import Promise

    from utfall.platform.messages import MESSAGES

    untranslated = []
    for message in MESSAGES:
        if not isinstance(message.template, Promise):
            continue  # a plain "%(reason)s": only what it wraps is said
        with translation.override("en"):
            english = str(message.template)
        with translation.override("sv"):
            swedish = str(message.template)
        if swedish == english:
            untranslated.append(message.code)
    assert untranslated == []


def test_an_import_finding_is_said_by_its_reason() -> None:
    from utfall.platform.messages import ImportFinding

    finding = ImportFinding(
        code="bad-cell",
        message="'2021-02-30' is not a date that exists",
        row=2,
        field_name="Inkluderingsdatum",
        reason="date-not-exists",
        params={"value": "2021-02-30"},
    )
    assert finding_message(finding, "sv") == (
        "rad 2, kolumn ”Inkluderingsdatum”: ”2021-02-30” är inget datum som finns"
    )
