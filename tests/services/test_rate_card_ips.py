"""The IPS rate-card contract settled from its synthetic data, and its payment split.

The same figure from CSV and from Parquet (tables by name), the detail adding up to
it, and — for any outcome value, cap and share — the two commissioners' payments
summing to the payable amount to the öre, never above the cap, never negative.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.contracts import Facts, contract_settle
from utfall.services.evaluation import EvaluationContext
from utfall.services.rate_card import rate_card_detail
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "examples" / "contracts" / "ips-employment-rate-card.yaml"
CONTRACT = contract_read(PATH)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ips")
    generate("ips", out, seed=3, size=400)
    return out


def test_settles_from_its_declared_tables_with_every_figure_explained(data):
    tables = DirectoryTables(data, CONTRACT.data)
    run = contract_settle(CONTRACT, tables=tables)
    settlement = run.settlement
    (estimate,) = run.evaluations.values()
    value = Decimal(estimate.extras["value_sek"])
    assert settlement.inputs["outcome_payments_sek"] == value
    assert value <= Decimal(estimate.extras["cap_total_sek"])
    payments = {p.id: p.amount for p in settlement.payments}
    assert sum(payments.values()) == settlement.outputs["payable_sek"] == value
    details = settlement.explain("outcome_payments_sek").details
    assert set(details["tables"]) == {"participants", "events"}
    assert details["outcomes_paid"] == estimate.extras["counts"]
    assert details["events_not_paid"]["duplicate"] > 0
    # One estimate per support need, adding up to the whole.
    groups = {s.label: s.extras for s in estimate.subgroups}
    assert set(groups) == {"standard", "high"}
    assert sum(Decimal(g["value_sek"]) for g in groups.values()) == value


def test_the_detail_holds_every_event_and_adds_up(data):
    tables = DirectoryTables(data, CONTRACT.data)
    spec = CONTRACT.evaluations["outcome_payments"]
    context = EvaluationContext(
        declaration=CONTRACT.data,
        periods=CONTRACT.periods,
        parameters={n: p.default for n, p in CONTRACT.parameters.items()},
    )
    detail = rate_card_detail(spec, tables, context)
    run = contract_settle(CONTRACT, tables=tables)
    (estimate,) = run.evaluations.values()
    assert sum(detail.counted.column("paid_sek").to_pylist()) == Decimal(
        estimate.extras["value_sek"]
    )
    assert detail.counted.num_rows + detail.uncounted.num_rows == tables.table("events").num_rows
    reasons = detail.uncounted.column("reason").to_pylist()
    for reason, n in estimate.extras["uncounted"].items():
        assert reasons.count(reason) == n
    assert set(detail.counted.column("participant").to_pylist()) <= set(
        tables.table("participants").column("participant").to_pylist()
    )


def test_csv_and_parquet_give_the_same_tables_and_figure(data, tmp_path):
    csv_tables = DirectoryTables(data, CONTRACT.data)
    for name in ("participants", "events"):
        pq.write_table(csv_tables.table(name), tmp_path / f"{name}.parquet")
    parquet_tables = DirectoryTables(tmp_path, CONTRACT.data)
    from_csv = contract_settle(CONTRACT, tables=csv_tables)
    from_parquet = contract_settle(CONTRACT, tables=parquet_tables)
    assert dict(from_csv.digests) == dict(from_parquet.digests)
    assert from_csv.settlement.outputs == from_parquet.settlement.outputs


def test_a_lower_cap_is_reached_exactly(data):
    run = contract_settle(
        CONTRACT, tables=DirectoryTables(data, CONTRACT.data), overrides={"cap_sek": "1234567.89"}
    )
    (estimate,) = run.evaluations.values()
    assert run.settlement.outputs["payable_sek"] == Decimal("1234567.89")
    assert estimate.extras["uncounted"]["over_total_cap"] > 0
    assert estimate.extras["funnel"]["earned_sek"][-1] == "1234567.89"


money = st.integers(min_value=0, max_value=10**11).map(lambda ore: Decimal(ore) / 100)


@settings(max_examples=300, deadline=None)
@given(value=money, cap=money, share=st.integers(0, 10**4).map(lambda b: Decimal(b) / 10**4))
def test_the_commissioners_shares_sum_to_the_payable_amount_to_the_ore(value, cap, share):
    facts = Facts({"outcome_payments_sek": value}, source="facts")
    overrides = {"cap_sek": str(cap), "region_share": str(share)}
    settlement = contract_settle(CONTRACT, facts=facts, overrides=overrides).settlement
    payments = {p.id: p.amount for p in settlement.payments}
    payable = settlement.outputs["payable_sek"]
    assert payable == min(value, cap)
    assert sum(payments.values()) == payable
    assert all(amount >= 0 for amount in payments.values())
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in payments.values())
