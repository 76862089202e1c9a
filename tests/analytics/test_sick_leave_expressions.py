"""The Ibis expressions of the sick-leave aggregation, on DuckDB, against pandas."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from utfall.analytics import (
    connect,
    contract_rows,
    employee_scores,
    monthly_totals,
    read_table,
)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    employees, months = 50, 4
    rows = []
    for e in range(employees):
        for period in ("reference", "contract"):
            for m in range(1, months + 1):
                if e == 0 and period == "contract" and m > 2:
                    continue  # an employee who leaves
                rows.append((e, period, m, int(rng.poisson(1.0))))
    return pd.DataFrame(rows, columns=["employee", "period", "month_index", "sick_days"])


@pytest.fixture(scope="module")
def parquet(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("expr") / "months.parquet"
    frame.to_parquet(path)
    return path


def test_monthly_totals_match_pandas(frame, parquet):
    con = connect()
    got = monthly_totals(
        read_table(con, parquet), time="month_index", outcome="sick_days", period="period"
    ).to_pandas()
    want = frame.pivot_table(
        index="month_index", columns="period", values="sick_days", aggfunc=["sum", "count"]
    )
    assert list(got.time) == [1, 2, 3, 4]
    assert np.allclose(got.reference_days, want[("sum", "reference")])
    assert np.allclose(got.contract_days, want[("sum", "contract")])
    assert list(got.reference_rows) == [50] * 4
    assert list(got.contract_rows) == [50, 50, 49, 49]


def test_employee_scores_match_pandas(frame, parquet):
    con = connect()
    weights = pd.DataFrame(
        {
            "time": [1, 2, 3, 4],
            "reference_weight": [0.1, 0.2, 0.3, 0.4],
            "contract_weight": [1.0, 2.0, 3.0, 4.0],
        }
    )
    got = (
        employee_scores(
            read_table(con, parquet),
            ibis.memtable(weights),
            unit="employee",
            time="month_index",
            outcome="sick_days",
            period="period",
        )
        .to_pandas()
        .set_index("employee")
        .score.sort_index()
    )
    merged = frame.merge(weights, left_on="month_index", right_on="time")
    signed = np.where(merged.period == "contract", -merged.contract_weight, merged.reference_weight)
    want = (merged.sick_days * signed).groupby(merged.employee).sum().sort_index()
    assert np.allclose(got.to_numpy(), want.to_numpy())


@pytest.mark.parametrize(
    ("values", "contract_value", "expected"),
    [
        (["reference", "contract"], "contract", [False, True]),
        (["before", "during"], "during", [False, True]),
        ([0, 1], None, [False, True]),
        ([False, True], None, [False, True]),
    ],
)
def test_contract_rows_by_column_type(values, contract_value, expected):
    con = connect()
    table = ibis.memtable(pa.table({"p": values}))
    got = con.to_pandas(table.select(c=contract_rows(table, "p", contract_value))).c.tolist()
    assert got == expected


def test_read_table_reads_csv_parquet_and_a_directory(frame, tmp_path):
    con = connect()
    frame.to_csv(tmp_path / "months.csv", index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.slice(0, 100), parts / "a.parquet")
    pq.write_table(table.slice(100), parts / "b.parquet")
    for path in (tmp_path / "months.csv", parts):
        got = read_table(con, path).to_pandas()
        assert len(got) == len(frame)
        assert got.sick_days.sum() == frame.sick_days.sum()
    with pytest.raises(ValueError, match="not a Parquet or CSV"):
        read_table(con, tmp_path / "months.xlsx")
