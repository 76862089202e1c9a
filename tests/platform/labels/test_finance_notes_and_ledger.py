"""Finance notes, council errors and ledger subjects in the reader's language (issue 15):
the engine's notes carry a code and params, pages say them with the formatting layer and
the contract's labels, never with identifiers or raw decimals."""

from __future__ import annotations

import pickle
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from utfall.adapters.files import facts_read
from utfall.adapters.finance import finance_plan_read
from utfall.core.contracts import parse_contract
from utfall.core.finance import CostReport, CostStructure, FinancePlan, Note, finance_report
from utfall.errors import EvaluationError
from utfall.platform.messages import error_said, note_message
from utfall.services.contracts import contract_settle
from utfall.services.council.dashboard import error_dict
from utfall.services.finance import finance_cashflows, finance_drawdowns

ROOT = Path(__file__).resolve().parents[3]
NORRKOPING = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
PLAN = ROOT / "examples/finance/norrkoping-plan.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture(scope="module")
def norrkoping():
    return parse_contract(NORRKOPING.read_text(encoding="utf-8"), source=str(NORRKOPING))


def _over_commitment() -> Note:
    plan = FinancePlan(
        financier="fund",
        commissioner="town",
        commitment=Decimal("10000000"),
        structure=CostStructure({"salaries": Decimal(1)}),
        cost_reports=(CostReport(date(2017, 1, 1), Decimal("10000000.08")),),
        settlement_date=date(2018, 1, 1),
    )
    (note,) = finance_report(plan, None).notes
    return note


def test_a_note_is_its_english_text_with_a_code_and_params():
    note = _over_commitment()
    assert isinstance(note, str) and "carries 0.08 itself" in note
    assert note.code == "finance-over-commitment"
    assert note.params == {"commitment": "10000000", "own": "0.08"}
    again = pickle.loads(pickle.dumps(note))
    assert again == note and again.code == note.code and again.params == note.params


def test_a_note_reads_in_swedish_and_english_with_amounts_in_their_form():
    note = _over_commitment()
    swedish = note_message(note, "sv")
    assert swedish == (
        "kostnadsrapporterna överstiger åtagandet på 10\u00a0000\u00a0000,00\u00a0kr: "
        "beställaren bär själv 0,08\u00a0kr"
    )
    english = note_message(note, "en")
    assert "SEK\u00a010,000,000.00" in english and "SEK\u00a00.08" in english
    assert "10000000" not in swedish + english


def test_the_notes_before_a_settlement_name_the_output_by_its_label(norrkoping):
    report = finance_drawdowns(norrkoping, finance_plan_read(PLAN, norrkoping))
    codes = [getattr(n, "code", None) for n in report.notes]
    assert "finance-savings-wait" in codes and "finance-needs-settlement" in codes
    for language in ("sv", "en"):
        said = [note_message(n, language, norrkoping) for n in report.notes]
        assert said and not any(IDENTIFIER.search(s) for s in said), said
    swedish = " ".join(note_message(n, "sv", norrkoping) for n in report.notes)
    assert "avräkning" in swedish and "settlement" not in swedish


def test_a_settled_report_notes_the_invested_difference_in_words(norrkoping):
    plan = finance_plan_read(PLAN, norrkoping)
    settled = finance_cashflows(contract_settle(norrkoping, facts=facts_read(FACTS)), plan)
    for note in settled.notes:
        assert getattr(note, "code", "note") != "note", note
        assert not IDENTIFIER.search(note_message(note, "sv", norrkoping))


def test_a_missing_table_is_said_by_its_label_without_identifiers(norrkoping):
    stored = {
        "type": "TableMissing",
        "message": "no imported data for the table cost_reports (Cost reports) of "
        "norrkoping-placed-children: import it first",
        "detail": [],
    }
    swedish = error_said(stored, "sv", norrkoping)["message"]
    assert swedish.startswith("inga data har importerats ännu till tabellen")
    assert "cost_reports" not in swedish and "norrkoping" not in swedish
    assert "cost_reports" not in error_said(stored, "en", norrkoping)["message"]
    assert error_said(None) is None


def test_an_error_of_the_data_as_of_a_day_names_the_table_by_its_label(norrkoping):
    error = EvaluationError(
        "school_results (the data as of 2018-03-31): the bootstrap needs at least two units"
    )
    said = error_said(error_dict(error), "sv", norrkoping)["message"]
    assert said.endswith("(data per 2018-03-31): bootstrap kräver minst två enheter"), said
    assert "school_results" not in said
    assert error_dict(error)["code"] == error.code


def test_ledger_subjects_are_said_from_kind_and_attributes(norrkoping):
    from django.utils import translation

    from utfall.platform.settlements.presentation import ledger_subject

    def entry(kind, subject, **attributes):
        return SimpleNamespace(kind=kind, subject=subject, attributes=attributes)

    entries = [
        entry("contract_version", "contract x version 1", version=1),
        entry(
            "import", "import cost_records costs.csv", what="cost_records", file="c.csv", rows=12
        ),
        entry("import", "facts facts.yaml", what="facts", file="facts.yaml"),
        entry("import", "table school_results", what="table", table="school_results", rows=1200),
        entry("settlement", "settlement of x v1", version="1"),
        entry(
            "fund_commitment",
            "fund commitment K-01 2024 (committed)",
            constellation="K-01",
            year=2024,
            amount_sek="1500000.00",
            change="committed",
        ),
        entry(
            "fund_payment",
            "fund payment K-01 2024-07-01–2024-12-31",
            constellation="K-01",
            period="2024-07-01/2024-12-31",
            amount_sek="250000.00",
        ),
    ]
    with translation.override("sv"):
        said = [ledger_subject(e, norrkoping, "sv") for e in entries]
    text = " | ".join(said)
    assert not IDENTIFIER.search(text) and ".yaml" not in text, text
    assert "kontraktets version 1" in said[0]
    assert "1\u00a0200 rader" in said[3]
    assert "1\u00a0500\u00a0000,00\u00a0kr" in said[5] and "beslutat" in said[5]
    assert "K-01" in said[6] and "250\u00a0000,00\u00a0kr" in said[6]
    unknown = entry("something_new", "as stored")
    assert ledger_subject(unknown, norrkoping, "sv") == "as stored"


def test_named_figures_have_names_and_pseudonyms_are_marked_as_codes():
    from django.utils import translation

    from utfall.platform.council.tables import Column, Table, figure_name

    with translation.override("sv"):
        assert figure_name("mixed_p_value") == "Blandad modell: p-värde"
        assert figure_name("participants_paid") == "Deltagare med ersättning"
        assert figure_name("baseline_share") == "Andel vid baslinjen"
    with translation.override("en"):
        assert figure_name("value_before_caps_sek") == "Value before the caps (SEK)"
    table = Table("t", "T", [Column("p", "Pseudonym", "pseudonym"), Column("n", "N", "int")], [])
    assert table.hash_columns == [0]
