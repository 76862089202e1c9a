"""The platform says every message through one table (issue 15): engine errors and import
problems alike, one code each, an import reason with its group heading."""

from __future__ import annotations

from utfall.errors import Finding
from utfall.platform.messages import (
    BY_CODE,
    MESSAGES,
    ImportFinding,
    finding_message,
    finding_text,
    group_label,
)


def test_every_code_is_in_the_table_once():
    codes = [message.code for message in MESSAGES]
    assert len(codes) == len(set(codes)), sorted({c for c in codes if codes.count(c) > 1})
    assert set(BY_CODE) == set(codes)


def test_an_import_reason_and_an_engine_code_of_the_same_name_are_not_confused():
    # The import's "no-rows" is its own template; the engine's "no rows to aggregate" is
    # read by its text, as before.
    stored = ImportFinding("no-rows", "the file has a header but no data rows", row=2)
    assert finding_message(stored, "sv") == "rad 2: filen har en rubrikrad men inga datarader"
    engine = Finding("no-rows", "no rows to aggregate")
    assert finding_text(engine, "sv") == finding_text(engine, "en")


def test_a_stored_import_finding_shows_its_figures_in_the_language():
    finding = {
        "code": "bad-cell",
        "reason": "below-minimum",
        "message": "-1500.5 is below the minimum 0",
        "params": {"value": "-1500.5", "minimum": "0"},
    }
    assert finding_text(finding, "en") == "-1,500.5 is less than the smallest value allowed, 0"
    assert finding_text(finding, "sv").startswith("\u22121\u00a0500,5")
    changed = {
        "reason": "stored-row-differs",
        "message": "x",
        "params": {
            "columns": "month",
            "import": "#3",
            "column": "days",
            "stored": "2.5",
            "given": "x",
        },
    }
    assert "2,5" in finding_text(changed, "sv") and "x" in finding_text(changed, "sv")
    date = {"reason": "date-format", "message": "x", "params": {"value": "20210230"}}
    assert "20210230" in finding_text(date, "sv")  # what was typed, not a number


def test_each_import_reason_has_its_group_heading():
    from django.utils import translation

    with translation.override("sv"):
        assert group_label("date-not-exists") == "Datum som inte finns"
        assert group_label("something-new") == str(group_label("x"))
