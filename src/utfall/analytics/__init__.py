"""Scale-out analytics: heavy aggregations written once as Ibis expressions.

They run in-process on DuckDB over Parquet/CSV by default and unchanged on
Apache Spark (``connect("pyspark", session=...)``) for national registers. The
estimators in :mod:`utfall.core.evaluation` then work on the small aggregated
results (per-employee or per-individual-month totals).
"""

from utfall.analytics.backends import (
    BACKENDS,
    connect,
    duckdb_cursor,
    local_spark_session,
    read_table,
)
from utfall.analytics.costs import unit_month_costs
from utfall.analytics.sick_leave import contract_rows, employee_scores, monthly_totals

__all__ = [
    "BACKENDS",
    "connect",
    "contract_rows",
    "duckdb_cursor",
    "employee_scores",
    "local_spark_session",
    "monthly_totals",
    "read_table",
    "unit_month_costs",
]
