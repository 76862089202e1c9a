"""The sick-leave dashboard takes an imported SLT index over the example facts' (decision 0302),
and falls back to the facts, with a note, while the import lacks months it needs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from council_helpers import EXAMPLES, SICK_LEAVE_START, botkyrka_dashboard, sick_leave_month

from utfall.services.contracts import facts_load

EMPLOYEES = 20
COLUMNS = ["unit", "kind", "date", "category", "point", "quantity", "amount"]


def _trend(index: int) -> float:
    """A made-up index: flat 100 in the reference period, 110 in the contract period."""
    return 100.0 if index < 0 else 110.0


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    participants = pd.DataFrame(
        {
            "unit": range(EMPLOYEES),
            "pseudonym": [f"{e:064x}" for e in range(EMPLOYEES)],
            # Counted from the reference period, as the demo imports them.
            "included_on": sick_leave_month(-36),
            "group": "treatment",
            "cohort": "",
        }
    )
    rows = [
        (e, "sick_leave_days", sick_leave_month(i), "", None, float(days), None)
        for e in range(EMPLOYEES)
        for i in range(-36, 36)
        if (days := rng.poisson(0.7))
    ]
    rows += [
        (None, "sick_leave_trend_index", sick_leave_month(i), "", None, _trend(i), None)
        for i in range(-36, 36)
    ]
    return participants, pd.DataFrame(rows, columns=COLUMNS)


def test_the_imported_trend_index_replaces_the_example_facts(data):
    participants, records = data
    dashboard = botkyrka_dashboard(participants, records, dt.date(2021, 12, 31), reps=99)
    settlement = dashboard["settlement"]
    assert settlement["sources"]["slt"] == "sick_leave_trend_index"
    assert settlement["sources"]["slt_reference"] == "sick_leave_trend_index"
    assert [float(v) for v in settlement["inputs"]["slt"]] == [110.0] * 36
    assert [float(v) for v in settlement["inputs"]["slt_reference"]] == [100.0] * 36
    assert "trend_index_incomplete" not in dashboard["notes"]
    monthly = dashboard["sick_leave"]["monthly"]
    assert {row["trend_ratio"] for row in monthly} == {1.1}
    # S_e by hand: reference days per employee × 1.1, month by month.
    days = records[records["kind"] == "sick_leave_days"]
    reference = days[days["date"] < SICK_LEAVE_START]["quantity"].sum() / EMPLOYEES
    expected = dashboard["sick_leave"]["expected_days"]
    assert expected == pytest.approx(reference * 1.1 * EMPLOYEES, abs=0.1)


def test_months_not_yet_published_take_the_reference_value(data):
    participants, records = data
    published = records[
        (records["kind"] != "sick_leave_trend_index") | (records["date"] < sick_leave_month(6))
    ]
    dashboard = botkyrka_dashboard(participants, published, dt.date(2019, 6, 30), reps=99)
    inputs = dashboard["settlement"]["inputs"]
    assert dashboard["settlement"]["sources"]["slt"] == "sick_leave_trend_index"
    assert [float(v) for v in inputs["slt"]] == [110.0] * 6 + [100.0] * 30
    assert dashboard["sick_leave"]["months_observed"] == 6


def test_an_incomplete_index_falls_back_to_the_example_facts_with_a_note(data):
    participants, records = data
    gap = (records["kind"] == "sick_leave_trend_index") & (records["date"] == sick_leave_month(-20))
    dashboard = botkyrka_dashboard(participants, records[~gap], dt.date(2021, 12, 31), reps=99)
    assert "trend_index_incomplete" in dashboard["notes"]
    assert dashboard["settlement"]["sources"]["slt"] == "facts"
    facts = facts_load(EXAMPLES / "facts" / "sick-leave-botkyrka.yaml")
    assert [float(v) for v in dashboard["settlement"]["inputs"]["slt"]] == [
        float(v) for v in facts["slt"]
    ]


def test_without_an_imported_index_the_example_facts_are_used(data):
    participants, records = data
    records = records[records["kind"] != "sick_leave_trend_index"]
    dashboard = botkyrka_dashboard(participants, records, dt.date(2021, 12, 31), reps=99)
    assert dashboard["settlement"]["sources"]["slt"] == "facts"
    assert "trend_index_incomplete" not in dashboard["notes"]
    assert dashboard["sick_leave"]["months_observed"] == 36
