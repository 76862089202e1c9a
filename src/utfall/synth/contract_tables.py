"""The synthetic data in the layout of the reference contracts' declared tables.

Besides its analysis tables (``costs``, ``employee_months`` …, the layouts the
stand-alone evaluation specs and the benchmarks read), each scenario writes the
tables its reference contract declares under ``data:`` — one CSV file per table,
named by the table (``participants.csv``, ``cost_records.csv`` …), identity in a
``participant`` column — so the same folder is what ``utfall settle --data-dir``
reads and what the platform imports. Zero rows are left out, as a source system
leaves them out; the contract's evaluations fill the months between.
"""

from __future__ import annotations

from pathlib import Path

from utfall.analytics import duckdb_cursor
from utfall.synth._io import TableInfo

__all__ = ["norrkoping_tables", "sick_leave_tables"]


def _copy(out: Path, name: str, sql: str, tables: list[TableInfo]) -> None:
    path = out / f"{name}.csv"
    temporary = out / f".{name}.csv.partial"
    cursor = duckdb_cursor()
    try:
        cursor.execute(f"COPY ({sql}) TO '{temporary}' (HEADER, DELIMITER ',')")
        written = cursor.sql(f"SELECT * FROM read_csv('{temporary}', all_varchar = true)")
        rows, columns = len(written), list(written.columns)
    finally:
        cursor.close()
    temporary.replace(path)
    tables.append(TableInfo(name, path.name, rows, columns))


def norrkoping_tables(out: Path, tables: list[TableInfo], *, cost_total_sek: int) -> None:
    """Participants, costs, placement days, school results, social scores and the quarterly
    cost reports of the Norrköping contract, from the analysis tables in ``out``."""
    children = f"read_parquet('{out / 'children.parquet'}')"
    costs = f"read_parquet('{out / 'costs.parquet'}')"
    school = f"read_parquet('{out / 'school.parquet'}')"
    dimensions = f"read_parquet('{out / 'dimensions.parquet'}')"
    _copy(
        out,
        "participants",
        "SELECT child_id AS participant, inclusion_month AS included_on, "
        "CASE WHEN included = 1 THEN 'treatment' ELSE 'comparison' END AS \"group\", "
        f"age_band, earlier_placements FROM {children} ORDER BY child_id",
        tables,
    )
    _copy(
        out,
        "cost_records",
        "SELECT participant, date, category, amount FROM ("
        f"SELECT child_id AS participant, month AS date, 'placement' AS category, "
        f"round(placement_cost_sek, 2)::DECIMAL(18, 2) AS amount FROM {costs} UNION ALL "
        f"SELECT child_id, month, 'outpatient', round(outpatient_cost_sek, 2)::DECIMAL(18, 2) "
        f"FROM {costs}) WHERE amount <> 0 ORDER BY participant, date, category",
        tables,
    )
    _copy(
        out,
        "placement_days",
        f"SELECT child_id AS participant, month, placement_days AS days FROM {costs} "
        "WHERE placement_days <> 0 ORDER BY participant, month",
        tables,
    )
    # Before: the inclusion date; after: two years on (the contract-bearing follow-up).
    _copy(
        out,
        "school_results",
        "SELECT s.child_id AS participant, "
        "(c.inclusion_month + to_months(24 * s.post))::DATE AS date, m.subject, "
        "CASE m.subject WHEN 'merit_points' THEN s.merit_points "
        "ELSE s.passed_subjects END AS score "
        f"FROM {school} AS s JOIN {children} AS c USING (child_id) "
        "CROSS JOIN (VALUES ('merit_points'), ('passed_subjects')) AS m(subject) "
        "ORDER BY participant, date, m.subject",
        tables,
    )
    _copy(
        out,
        "social_scores",
        "SELECT d.child_id AS participant, "
        "(c.inclusion_month + to_months(d.month_since_inclusion))::DATE AS date, "
        "d.dimension, d.wave AS point, d.score "
        f"FROM {dimensions} AS d JOIN {children} AS c USING (child_id) "
        "ORDER BY participant, date, d.dimension",
        tables,
    )
    # Quarterly cost reports in the contract's cost structure (seed 000 p. 10: evaluation
    # 2 %, intermediary 14 %, tutoring 24 %, overhead 12 %, salaries 48 % here so the
    # shares sum to the whole), 18 quarters from 2016-03 summing to the commitment to the
    # öre: each quarter is the step of the rounded cumulative amount, so the rounding of
    # one quarter is made good in the next.
    quarters = 18
    cumulative = f"round({cost_total_sek} * share * {{q}} / {quarters}, 2)"
    _copy(
        out,
        "cost_reports",
        "SELECT (DATE '2016-03-01' + to_months(3 * q))::DATE AS period_end, category, "
        f"({cumulative.format(q='(q + 1)')} - {cumulative.format(q='q')})::DECIMAL(18, 2) "
        "AS amount "
        f"FROM range({quarters}) AS r(q) CROSS JOIN (VALUES ('evaluation', 0.02), "
        "('intermediary', 0.14), ('tutoring', 0.24), ('overhead', 0.12), ('salaries', 0.48)) "
        "AS s(category, share) ORDER BY period_end, category",
        tables,
    )


def sick_leave_tables(out: Path, tables: list[TableInfo]) -> None:
    """Employees, their sick days per month and the trend index of the sick-leave
    contracts, from the analysis tables in ``out``."""
    months = f"read_parquet('{out / 'employee_months.parquet'}')"
    index = f"read_parquet('{out / 'slt_index.parquet'}')"
    # The synthetic employees are employed throughout: counted from the reference
    # period's first month (a month's head count is the employees included by then).
    _copy(
        out,
        "participants",
        "SELECT DISTINCT 'E-' || lpad(employee::VARCHAR, 5, '0') AS participant, "
        f"(SELECT min(month) FROM {index}) AS included_on, administration "
        f"FROM {months} ORDER BY participant",
        tables,
    )
    _copy(
        out,
        "sick_leave_days",
        "SELECT 'E-' || lpad(m.employee::VARCHAR, 5, '0') AS participant, i.month, "
        "m.sick_days AS days "
        f"FROM {months} AS m JOIN {index} AS i USING (period, month_index) "
        "WHERE m.sick_days <> 0 ORDER BY participant, i.month",
        tables,
    )
    _copy(
        out,
        "trend_index",
        f"SELECT month, round(slt, 4) AS slt FROM {index} ORDER BY month",
        tables,
    )
