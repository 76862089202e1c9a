"""``connect("duckdb")``: cursors on one database per process, isolated from each other."""

from __future__ import annotations

import os
import threading

import pyarrow as pa
import pyarrow.parquet as pq

from utfall.analytics import connect, read_table


def _parquet(tmp_path, name, values):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table({"x": values}), path)
    return path


def _views(con):
    return {row[0] for row in con.raw_sql("SELECT view_name FROM duckdb_views()").fetchall()}


def test_each_connection_sees_only_its_own_tables(tmp_path):
    first, second = connect(), connect()
    table = read_table(first, _parquet(tmp_path, "a", [1, 2, 3]))
    name = table.get_name()
    assert name in _views(first)
    assert name not in _views(second)
    assert second.raw_sql("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    first.disconnect()
    assert name not in _views(connect())


def test_connections_in_threads_compute_independently(tmp_path):
    paths = [_parquet(tmp_path, f"t{i}", list(range(i * 1000))) for i in range(1, 5)]
    sums: dict[int, int] = {}

    def run(i):
        con = connect()
        sums[i] = int(read_table(con, paths[i - 1]).x.sum().to_pyarrow().as_py())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sums == {i: sum(range(i * 1000)) for i in range(1, 5)}


def test_a_thread_cap_gets_a_database_of_its_own():
    capped = connect(threads=1)
    assert capped.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 1
    if (os.cpu_count() or 1) > 1:
        assert connect().raw_sql("SELECT current_setting('threads')").fetchone()[0] > 1


def test_a_forked_process_opens_a_database_of_its_own(tmp_path):
    import multiprocessing

    path = _parquet(tmp_path, "f", [1, 2, 3])
    assert int(read_table(connect(), path).x.sum().to_pyarrow().as_py()) == 6  # parent's database
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_sum_in_child, (str(path),)).get(timeout=120) == 6


def _sum_in_child(path):
    return int(read_table(connect(), path).x.sum().to_pyarrow().as_py())
