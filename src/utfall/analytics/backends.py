"""Where the Ibis expressions run: DuckDB in-process (default) or Apache Spark.

The same expression compiles to DuckDB SQL or to a Spark plan; only the
connection differs. ``connect("duckdb")`` opens an in-memory DuckDB;
``connect("pyspark", session=...)`` wraps an existing SparkSession, and
:func:`local_spark_session` builds a small local one (no UI, bound to
127.0.0.1) for tests and laptops. A cluster session is built by the caller
with its own settings and passed in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

__all__ = ["BACKENDS", "connect", "local_spark_session", "read_table"]

BACKENDS = ("duckdb", "pyspark")


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
    one); ``threads`` caps DuckDB's threads.
    """
    if backend == "duckdb":
        con = ibis.duckdb.connect()
        if threads is not None:
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
