"""The ``share_change`` method and the ``dated: before`` aggregate, on the national fund's
reference contract (its declared tables in memory, or the synthetic ones ``utfall synth fund``
writes).

* share_change against a hand computation and against the numbers the fund app computed
  before it was on the pipeline (``_evaluate_line``: difference in means on the shares, the
  change in the good direction times n, never below 0), for any counts;
* what it refuses, and ``empty: zero``;
* the contract's declaration of it checked at compile time;
* "paid before" over a sequence of reports: each settlement counts every earlier payment and
  never its own, so settling the synthetic constellation report by report reproduces the
  payments the generator recorded, to the öre.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.core.contracts import parse_contract
from utfall.core.evaluation import difference_in_means
from utfall.errors import ContractInvalid, DataInvalid, SpecInvalid
from utfall.services.bindings import evaluations_run
from utfall.services.contracts import contract_settle
from utfall.services.evaluation import evaluate
from utfall.services.share_change import units_of
from utfall.services.tables import ArrowTables, conform
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]
FUND = ROOT / "examples" / "contracts" / "national-fund-constellation.yaml"
BASELINE_END = dt.date(2025, 6, 30)
REPORT_END = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def contract():
    return contract_read(FUND)


def _tables(
    contract,
    reports,
    costs=((BASELINE_END, "0"), (REPORT_END, "4000000")),
    payments=((BASELINE_END, "0"),),
):
    """The contract's three declared series from plain rows, in canonical form."""
    declared = contract.data

    def table(name, columns, rows):
        data = pa.table({c: [str(r[i]) for r in rows] for i, c in enumerate(columns)})
        return conform(data, declared.table(name), where=name)

    return ArrowTables(
        {
            "outcome_reports": table(
                "outcome_reports",
                ["period_end", "indicator", "n", "count", "baseline"],
                [(d, i, n, c, "true" if b else "false") for d, i, n, c, b in reports],
            ),
            "cost_reports": table("cost_reports", ["period_end", "costs_to_date"], costs),
            "outcome_payments": table("outcome_payments", ["period_end", "amount"], payments),
        },
        origin="test rows",
    )


def _report(indicator, baseline, now):
    return [
        (BASELINE_END, indicator, baseline[0], baseline[1], True),
        (REPORT_END, indicator, now[0], now[1], False),
    ]


def _former(baseline_n, baseline_count, n, count, direction):
    """The fund app's former ``_evaluate_line`` (before the pipeline), on plain numbers."""
    values = (
        [1] * count + [0] * (n - count) + [1] * baseline_count + [0] * (baseline_n - baseline_count)
    )
    frame = pd.DataFrame({"y": values, "d": [1] * n + [0] * baseline_n})
    sign = 1 if direction == "higher_is_better" else -1
    estimate = difference_in_means(frame, outcome="y", treatment="d")
    change = sign * estimate.estimate
    bounds = (sign * estimate.ci_low, sign * estimate.ci_high)
    units = Decimal(str(round(max(change, 0.0) * n, 4)))
    return units, {
        "baseline_share": round(baseline_count / baseline_n, 4),
        "share": round(count / n, 4),
        "change_in_good_direction": round(change, 4),
        "ci_low": round(min(bounds), 4),
        "ci_high": round(max(bounds), 4),
    }


def _run(contract, tables, name, until=REPORT_END):
    estimates, _ = evaluations_run(contract, tables, [name], until=until)
    return estimates[name]


def test_a_fall_in_absence_by_hand(contract):
    # 40 of 200 pupils with problematic absence at the baseline, 20 of 200 now: the share fell
    # from 20 % to 10 %, lower is better, so the change is +0.10 and 0.10 × 200 = 20 pupils.
    tables = _tables(contract, _report("school_absence", (200, 40), (200, 20)))
    estimate = _run(contract, tables, "school_absence")
    assert estimate.extras["units"] == "20.0000"
    assert estimate.estimate == pytest.approx(0.10)
    assert estimate.extras["share"] == pytest.approx(0.10)
    assert estimate.extras["baseline_share"] == pytest.approx(0.20)
    # Welch: se² = 0.1·0.9/199 + 0.2·0.8/199; the interval is in the good direction.
    se = (0.1 * 0.9 / 199 + 0.2 * 0.8 / 199) ** 0.5
    assert estimate.std_error == pytest.approx(se)
    assert estimate.ci_low < 0.10 < estimate.ci_high
    assert estimate.ci_low == pytest.approx(0.10 - 1.966 * se, abs=2e-3)
    assert (estimate.n_treated, estimate.n_control) == (200, 200)


def test_units_are_exact_and_rounded_down(contract):
    # 50 of 150 at the baseline (a third), 60 of 149 now: 60 − 149/3 = 10.3333… → 10.3333.
    tables = _tables(contract, _report("work_or_studies", (150, 50), (149, 60)))
    estimate = _run(contract, tables, "work_or_studies")
    assert estimate.extras["units"] == "10.3333"
    change, units = units_of(
        n=149, count=60, baseline_n=150, baseline_count=50, direction="higher_is_better"
    )
    assert change == Fraction(60, 149) - Fraction(1, 3)
    assert units == Decimal("10.3333")
    # A change in the wrong direction earns nothing, never a negative number of units.
    worse = _tables(contract, _report("work_or_studies", (150, 50), (150, 40)))
    estimate = _run(contract, worse, "work_or_studies")
    assert estimate.extras["units"] == "0.0000" and estimate.estimate < 0


@settings(max_examples=60, deadline=None)
@example(  # 0.02825 exactly: a half at the fourth decimal (CI, 2026-12)
    baseline_n=125, n=32, baseline_share=0.125, share=0.15625, direction="higher_is_better"
)
@given(
    baseline_n=st.integers(2, 400),
    n=st.integers(2, 400),
    baseline_share=st.floats(0, 1),
    share=st.floats(0, 1),
    direction=st.sampled_from(["higher_is_better", "lower_is_better"]),
)
def test_the_same_numbers_as_the_fund_app_computed_before(
    baseline_n, n, baseline_share, share, direction
):
    contract = contract_read(FUND)
    baseline_count, count = round(baseline_share * baseline_n), round(share * n)
    indicator = "school_absence" if direction == "lower_is_better" else "parenting_capacity"
    tables = _tables(contract, _report(indicator, (baseline_n, baseline_count), (n, count)))
    estimate = _run(contract, tables, indicator)
    units, former = _former(baseline_n, baseline_count, n, count, direction)
    ours = Decimal(estimate.extras["units"])
    # The former figure rounded a float to 4 decimals; ours is exact, rounded down.
    assert ours <= units + Decimal("0.0001") and units - ours <= Decimal("0.0001")
    # The former figures were floats rounded to 4 decimals: a value at a half (0.02825) can
    # round either way depending on how the float was formed, so agree to within that step.
    step = 0.0001 + 1e-12
    assert estimate.extras["baseline_share"] == pytest.approx(former["baseline_share"], abs=step)
    assert estimate.extras["share"] == pytest.approx(former["share"], abs=step)
    assert estimate.estimate == pytest.approx(former["change_in_good_direction"], abs=step)
    assert estimate.ci_low == pytest.approx(former["ci_low"], abs=step)
    assert estimate.ci_high == pytest.approx(former["ci_high"], abs=step)


def test_no_rows_or_no_report_yet_is_zero_units_with_empty_zero(contract):
    nothing = _tables(contract, _report("school_absence", (200, 40), (200, 20)))
    estimate = _run(contract, nothing, "criminal_group_inflow")  # not reported at all
    assert estimate.extras["units"] == "0" and "no rows" in estimate.notes[0]
    only_baseline = _tables(contract, _report("school_absence", (200, 40), (200, 20))[:1])
    estimate = _run(contract, only_baseline, "school_absence")
    assert estimate.extras["units"] == "0" and "no report after the baseline" in estimate.notes[0]
    # The report of the period is not known before its period end (rows dated up to it).
    estimate = _run(contract, nothing, "school_absence", until=REPORT_END - dt.timedelta(days=1))
    assert estimate.extras["units"] == "0"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(REPORT_END, "school_absence", 200, 20, False)], "no baseline row"),
        (
            [
                (BASELINE_END, "school_absence", 200, 40, True),
                (REPORT_END, "school_absence", 200, 20, True),
            ],
            "more than one baseline",
        ),
        (
            [
                (BASELINE_END, "school_absence", 200, 40, True),
                (REPORT_END, "school_absence", 200, 201, False),
            ],
            "count ≤ n",
        ),
        (
            [
                (REPORT_END, "school_absence", 200, 40, True),
                (BASELINE_END, "school_absence", 200, 20, False),
            ],
            "not after the baseline",
        ),
    ],
)
def test_bad_rows_are_refused_naming_the_table_and_the_day(contract, rows, message):
    with pytest.raises(DataInvalid, match=message) as refused:
        _run(contract, _tables(contract, rows), "school_absence")
    assert "outcome_reports" in str(refused.value) and "indicator = school_absence" in str(
        refused.value
    )


def _variant(text: str) -> str:
    return FUND.read_text(encoding="utf-8").replace(
        "    options: {direction: lower_is_better, empty: zero}\n  upper_secondary", text, 1
    )


def test_the_declaration_of_a_share_change_is_checked_at_compile_time():
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(
            _variant(
                "    options: {direction: lower_is_better, n_column: count, baseline_column: n}"
                "\n  upper_secondary"
            ),
            source="fund.yaml",
        )
    text = "\n".join(str(finding) for finding in caught.value.findings)
    assert "fund.yaml:" in text and "evaluations.school_absence.options" in text
    assert "has no boolean column 'n'" in text
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(_variant("    options: {empty: zero}\n  upper_secondary"), source="f.yaml")
    (finding,) = caught.value.findings
    assert "needs the option 'direction'" in str(finding)


def test_a_share_change_needs_its_contract():
    contract = contract_read(FUND)
    spec = contract.evaluations["school_absence"]
    tables = _tables(contract, _report("school_absence", (200, 40), (200, 20)))
    with pytest.raises(SpecInvalid, match="run it through the contract"):
        evaluate(spec, tables)


def test_paid_before_counts_the_payments_dated_before_the_day_only(contract):
    reports = _report("school_absence", (200, 40), (200, 20))
    payments = ((BASELINE_END, "0"), (REPORT_END, "200000"))
    tables = _tables(contract, reports, payments=payments)
    # As of the report's own period end, its own payment (dated with it) is not "before".
    run = contract_settle(contract, tables=tables, until=REPORT_END)
    assert run.settlement.inputs["paid_before_sek"] == 0
    assert run.settlement.outputs["outcome_payment_sek"] == Decimal("200000")
    # A later report counts it.
    later = contract_settle(contract, tables=tables, until=REPORT_END + dt.timedelta(days=1))
    assert later.settlement.inputs["paid_before_sek"] == Decimal("200000")
    assert later.settlement.outputs["outcome_payment_sek"] == 0
    details = run.settlement.explain("paid_before_sek").as_dict()["details"]
    assert details["rows_dated_before"] == REPORT_END.isoformat()


def test_settled_report_by_report_the_synthetic_payments_come_out_to_the_ore(tmp_path):
    contract = contract_read(FUND)
    manifest = generate("fund", tmp_path, seed=11, size=2)
    assert contract.id in manifest["contracts"]
    planted = manifest["planted"]["contract_tables"]
    tables = DirectoryTables(tmp_path, contract.data)
    paid = Decimal(0)
    days = sorted(planted["payments_sek"])
    for day in days[1:]:  # the first is the baseline, recorded as paid 0
        run = contract_settle(contract, tables=tables, until=dt.date.fromisoformat(day))
        # Every earlier payment, and only those, is "paid before".
        assert run.settlement.inputs["paid_before_sek"] == paid
        amount = run.settlement.outputs["outcome_payment_sek"]
        assert amount == Decimal(planted["payments_sek"][day])
        paid += amount
    # The last report, not paid yet, settles on all of them.
    last = contract_settle(contract, tables=tables)
    assert last.settlement.inputs["paid_before_sek"] == paid
    # The scenario also writes the fund portfolio's table (decision 0703).
    assert contract.id in json.loads(json.dumps(manifest))["contracts"]
