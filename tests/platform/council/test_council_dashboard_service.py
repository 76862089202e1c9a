"""The dashboard service on its own (no database): sick leave from imported days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from council_helpers import EXAMPLES, SICK_LEAVE_START, botkyrka_dashboard, sick_leave_month

from utfall.services.contracts import facts_load


@pytest.fixture
def sick_leave():
    rng = np.random.default_rng(3)
    employees = 20
    participants = pd.DataFrame(
        {
            "unit": range(employees),
            "pseudonym": [f"{e:064x}" for e in range(employees)],
            # Employed throughout: counted from the reference period's start (decision 0302).
            "included_on": sick_leave_month(-36),
            "group": "treatment",
            "cohort": "",
        }
    )
    rows = []
    for e in range(employees):
        for i in range(-36, 36):
            days = rng.poisson(0.8 if i < 0 else 0.6)
            if days:
                rows.append(
                    (e, "sick_leave_days", sick_leave_month(i), "", None, float(days), None)
                )
    records = pd.DataFrame(
        rows, columns=["unit", "kind", "date", "category", "point", "quantity", "amount"]
    )
    return participants, records


def test_sick_leave_dashboard_follows_the_contract_formula(sick_leave):
    participants, records = sick_leave
    facts = facts_load(EXAMPLES / "facts" / "sick-leave-botkyrka.yaml")
    dashboard = botkyrka_dashboard(participants, records, dt.date(2021, 12, 31), reps=199)
    section = dashboard["sick_leave"]
    assert dashboard["kind"] == "sick_leave" and section["months_observed"] == 36
    # S_e − S_n by hand: reference days per employee × SLT_i / SLT_ref,i.
    per = records.assign(index=records["date"].map(lambda d: (d.year - 2019) * 12 + d.month - 1))
    ref = per[per["index"] < 0].groupby(per["index"] + 36)["quantity"].sum() / 20
    con = per[per["index"] >= 0].groupby("index")["quantity"].sum() / 20
    slt = np.array(facts["slt"], dtype=float) / np.array(facts["slt_reference"], dtype=float)
    expected = float(sum(ref.get(i, 0.0) * slt[i] for i in range(36)))
    saving_days = expected - float(con.sum())
    assert section["saving_days"] == pytest.approx(saving_days * 20, abs=0.1)
    value = float(facts["value_per_sick_day_sek"])
    assert float(section["saving_to_date"]) == pytest.approx(
        max(saving_days, 0) * 20 * value, rel=1e-6
    )
    settlement = dashboard["settlement"]
    assert settlement["error"] is None
    assert settlement["sources"]["observed_days"] == "sick_leave_days"
    assert settlement["inputs"]["employees"] == "20"
    outputs = {o["name"]: o["value"] for o in settlement["outputs"]}
    assert Decimal(outputs["saving_sek"]) == pytest.approx(
        Decimal(str(max(saving_days, 0) * 20 * value)), abs=Decimal(5)
    )


def test_months_not_yet_observed_count_as_no_change(sick_leave):
    participants, records = sick_leave
    dashboard = botkyrka_dashboard(participants, records, dt.date(2019, 12, 31), reps=199)
    assert dashboard["sick_leave"]["months_observed"] == 12
    inputs = dashboard["settlement"]["inputs"]
    facts = facts_load(EXAMPLES / "facts" / "sick-leave-botkyrka.yaml")
    for i in range(12, 36):
        expected = (
            float(inputs["reference_days"][i])
            * float(facts["slt"][i])
            / float(facts["slt_reference"][i])
        )
        assert float(inputs["observed_days"][i]) == pytest.approx(expected, abs=1e-4)


def test_a_leaver_counts_up_to_the_month_of_leaving_as_in_the_settlement(sick_leave):
    participants, records = sick_leave
    participants = participants.assign(left_on=None)
    participants.loc[0, "left_on"] = sick_leave_month(5)  # left in month 6 of the contract period
    dashboard = botkyrka_dashboard(participants, records, dt.date(2021, 12, 31), reps=199)
    monthly = dashboard["sick_leave"]["monthly"]
    # By hand: per month, the days of those counted that month over their number.
    per = records.assign(index=records["date"].map(lambda d: (d.year - 2019) * 12 + d.month - 1))
    counted = per[(per["unit"] != 0) | (per["index"] <= 5)]
    for i in (4, 5, 6, 30):
        heads = 20 if i <= 5 else 19
        observed = counted[counted["index"] == i]["quantity"].sum() / heads
        assert monthly[i]["observed_per_employee"] == pytest.approx(observed, abs=1e-4)
    # The reference months count all 20 (employed throughout before the contract).
    assert dashboard["settlement"]["inputs"]["employees"] == str(round((6 * 20 + 30 * 19) / 36))


def test_employees_included_at_the_contract_start_are_not_counted_before_it(sick_leave):
    participants, records = sick_leave
    dashboard = botkyrka_dashboard(
        participants.assign(included_on=SICK_LEAVE_START), records, dt.date(2021, 12, 31), reps=199
    )
    assert "sick_leave_months_without_employees" in dashboard["notes"]
    assert "sick_leave" not in dashboard
