"""Where the Ibis expressions run: DuckDB in-process (default) or Apache Spark.

The same expression compiles to DuckDB SQL or to a Spark plan; only the
connection differs. ``connect("duckdb")`` gives a fresh connection (a cursor) to
one in-memory DuckDB database per process: opening a DuckDB database costs about
20 ms, a cursor well under one, and each cursor keeps its own temporary views and
settings, so callers do not see each other's tables;
``connect("pyspark", session=...)`` wraps an existing SparkSession, and
:func:`local_spark_session` builds a small local one (no UI, bound to
127.0.0.1) for tests and laptops. A cluster session is built by the caller
with its own settings and passed in.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

__all__ = ["BACKENDS", "connect", "duckdb_cursor", "local_spark_session", "read_table"]

BACKENDS = ("duckdb", "pyspark")

# The process's DuckDB database, keyed by process id so that a forked worker opens
# its own (the parent's entry is left alone: closing a database copied by fork could
# wait for threads that do not exist in the child); cursors are handed out under a
# lock (a DuckDB connection is not thread-safe, its cursors are independent
# connections).
_DATABASE: dict[int, duckdb.DuckDBPyConnection] = {}
_DATABASE_LOCK = threading.Lock()


def duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the process's in-memory DuckDB database (its own views and settings)."""
    with _DATABASE_LOCK:
        pid = os.getpid()
        database = _DATABASE.get(pid)
        if database is None:
            database = _DATABASE[pid] = duckdb.connect()
        return database.cursor()


def local_spark_session(
    *, cores: int = 2, shuffle_partitions: int = 4, app_name: str = "utfall"
) -> Any:
    """A local SparkSession for one machine: no UI, loopback only, few partitions.

    Reuses the running session if there is one (Spark allows one per JVM).
    """
    # Spark otherwise resolves the host name and may bind to a public interface.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder
    return (
        builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(cores))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def connect(
    backend: str = "duckdb", *, session: Any = None, threads: int | None = None
) -> BaseBackend:
    """An Ibis connection to ``backend`` (``duckdb`` or ``pyspark``).

    ``session`` is an existing SparkSession for ``pyspark`` (default: a local
    one); ``threads`` caps DuckDB's threads, which is a setting of the whole
    database, so such a connection gets a database of its own.
    """
    if backend == "duckdb":
        if threads is None:
            return ibis.duckdb.from_connection(duckdb_cursor())
        con = ibis.duckdb.connect()
        con.raw_sql(f"SET threads = {int(threads)}")
        return con
    if backend == "pyspark":
        return ibis.pyspark.connect(session if session is not None else local_spark_session())
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def read_table(con: BaseBackend, path: Path) -> ir.Table:
    """A lazy table over a Parquet or CSV file, or a directory of Parquet files."""
    path = Path(path)
    if path.is_dir():
        if con.name == "duckdb":
            return con.read_parquet(str(path / "**" / "*.parquet"))
        return con.read_parquet(str(path))
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return con.read_parquet(str(path))
    if suffix in (".csv", ".txt"):
        if con.name == "pyspark":
            return con.read_csv(str(path), header=True, inferSchema=True)
        return con.read_csv(str(path))
    raise ValueError(f"{path}: not a Parquet or CSV file (by its suffix)")
