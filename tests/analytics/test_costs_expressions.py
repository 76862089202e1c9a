"""The cost-cell expression of the historical-reference estimator."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from utfall.analytics import connect, unit_month_costs


@pytest.fixture()
def con():
    return connect()


def test_rows_of_one_cell_are_summed_and_priced(con):
    costs = pd.DataFrame(
        {
            "child": ["a", "a", "a", "b"],
            "m": [0, 0, 1, 0],
            "included": [1, 1, 1, 0],
            # Invoices dated within the month: they match the index of the month.
            "date": [
                dt.date(2016, 8, 3),
                dt.date(2016, 8, 20),
                dt.date(2016, 9, 1),
                dt.date(2012, 1, 31),
            ],
            "cost": [100.0, 50.0, 70.0, 30.0],
            "band": ["x", "x", "x", "y"],
        }
    )
    prices = pd.DataFrame(
        {
            "month": [dt.date(2016, 8, 1), dt.date(2016, 9, 1), dt.date(2012, 1, 1)],
            "index": [101.0, 102.0, 95.0],
        }
    )
    got = (
        unit_month_costs(
            ibis.memtable(costs),
            unit="child",
            time="m",
            outcome="cost",
            treatment="included",
            subgroup="band",
            calendar="date",
            prices=ibis.memtable(prices),
        )
        .to_pandas()
        .sort_values(["unit", "time"])
        .reset_index(drop=True)
    )
    assert list(got.columns) == ["unit", "time", "treatment", "subgroup", "cost", "price"]
    assert got.cost.tolist() == [150.0, 70.0, 30.0]
    assert got.price.tolist() == [101.0, 102.0, 95.0]
    assert got.subgroup.tolist() == ["x", "x", "y"]


def test_without_prices_there_is_no_price_column(con):
    costs = pd.DataFrame({"u": ["a", "a"], "t": [0, 0], "d": [1, 1], "y": [1.0, 2.0]})
    got = unit_month_costs(
        ibis.memtable(costs), unit="u", time="t", outcome="y", treatment="d"
    ).to_pandas()
    assert list(got.columns) == ["unit", "time", "treatment", "cost"]
    assert got.cost.tolist() == [3.0]


def test_a_month_without_an_index_value_gets_a_null_price(con):
    costs = pd.DataFrame(
        {"u": ["a"], "t": [0], "d": [1], "y": [1.0], "month": [dt.date(2030, 1, 1)]}
    )
    prices = pd.DataFrame({"month": [dt.date(2016, 1, 1)], "index": [100.0]})
    got = unit_month_costs(
        ibis.memtable(costs),
        unit="u",
        time="t",
        outcome="y",
        treatment="d",
        calendar="month",
        prices=ibis.memtable(prices),
    ).to_pandas()
    assert got.price.isna().all()
