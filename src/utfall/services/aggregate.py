"""The ``aggregate`` method: an exact sum, count, mean, latest value or ratio of a table.

For figures a contract takes from its data as they are, not estimated: the amount
drawn against the cost reports, the share of activities each actor delivered, the
share of joint outcomes reached. Money and decimals are summed exactly (Decimal);
the figure a contract takes is ``value``, the exact text of the result (with
``by``: a list, one value per level in the declared order). Rows are the
declared table's, filtered by ``where`` and dated up to the day the data is taken.

Options: ``statistic`` (``sum``, ``count``, ``mean``, ``latest`` — the value of
the latest-dated row — or ``ratio``: the sum of ``outcome`` over the sum of
``denominator``), ``by`` (a column giving one value per level: a series),
``levels`` (the levels in order) or ``levels_from: parties`` with ``role`` (the
contract's parties of that role, in the contract's order), ``empty``:
``zero`` to give 0 for a level without rows instead of refusing, and ``dated``:
``before`` to count only the rows dated before the day the data is taken (rows dated
that day left out too), e.g. payments dated with the period they pay, so that the
settlement of a period never counts the period's own payment (decision 0506).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec, method_options
from utfall.errors import DataInvalid, Finding, SpecInvalid
from utfall.services.tables import TableProvider

__all__ = ["run_aggregate"]


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _statistic(
    rows: list[dict[str, Any]], spec: EvaluationSpec, options: dict[str, Any], date: str | None
) -> Decimal:
    statistic = options.get("statistic", "sum")
    if statistic == "count":
        return Decimal(len(rows))
    outcome = str(spec.outcome)
    values = [_number(r[outcome]) for r in rows if r.get(outcome) is not None]
    if statistic == "sum":
        return sum(values, Decimal(0))
    if statistic == "mean":
        return sum(values, Decimal(0)) / len(values)
    if statistic == "latest":
        if date is None:
            raise SpecInvalid("options.statistic: latest needs a dated table")
        latest = max(rows, key=lambda r: r[date])
        return _number(latest[outcome])
    denominator = str(options["denominator"])
    below = sum(
        (_number(r[denominator]) for r in rows if r.get(denominator) is not None), Decimal(0)
    )
    if below == 0:
        raise DataInvalid(
            f"the sum of {denominator!r} is 0: no ratio",
            [
                Finding(
                    "zero-denominator", f"the sum of {denominator!r} is 0", field_name=denominator
                )
            ],
        )
    return sum(values, Decimal(0)) / below


def _text(value: Decimal) -> str:
    """Exact text; a quotient (more than 12 decimals) is kept to 12 and trimmed."""
    if value.as_tuple().exponent < -12:  # type: ignore[operator]
        value = value.quantize(Decimal("1e-12")).normalize()
    return format(value, "f")


def run_aggregate(spec: EvaluationSpec, tables: TableProvider, context: Any) -> Estimate:
    """The aggregate ``spec`` asks for (see the module docstring)."""
    options = method_options(spec)
    statistic = options.get("statistic", "sum")
    if statistic != "count" and not spec.outcome:
        raise SpecInvalid(f"outcome: {statistic} needs the outcome column")
    if statistic == "ratio" and not options.get("denominator"):
        raise SpecInvalid("options.denominator: a ratio needs the denominator column")
    table = tables.table(spec.data)
    declaration = getattr(context, "declaration", None)
    date = declaration.table(spec.data).date if declaration is not None else None
    for column, value in spec.where.items():
        wanted = value if isinstance(value, list) else [value]
        table = table.filter(
            pc.is_in(
                table.column(column), value_set=pc.cast(wanted, table.schema.field(column).type)
            )
        )
    until = getattr(context, "until", None)
    before = options.get("dated") == "before" and until is not None and date is not None
    if before:
        table = table.filter(pc.less(table.column(date), pa.scalar(until, pa.date32())))
    rows = table.to_pylist()
    by = options.get("by")
    if by is None:
        if not rows and statistic not in ("sum", "count"):
            raise DataInvalid(
                f"{tables.describe(spec.data)}: no rows to aggregate",
                [Finding("no-rows", "no rows to aggregate")],
            )
        value = _statistic(rows, spec, options, date)
        estimate = _estimate(spec, float(value), _text(value), len(rows), statistic)
        if before:
            estimate.extras["explanation"] = {"rows_dated_before": until.isoformat()}
        return estimate
    levels = options.get("levels")
    if levels is None and options.get("levels_from") == "parties":
        parties = getattr(context, "parties", ())
        role = options.get("role")
        levels = [p.id for p in parties if role is None or p.role == role]
    if levels is None:
        levels = sorted({str(r[by]) for r in rows})
    values: list[str] = []
    numbers: list[float] = []
    for level in levels:
        part = [r for r in rows if str(r[by]) == level]
        if not part:
            if options.get("empty") == "zero":
                values.append("0")
                numbers.append(0.0)
                continue
            raise DataInvalid(
                f"{tables.describe(spec.data)}: no rows for {by} = {level}",
                [Finding("no-rows", f"no rows for {by} = {level!r}", field_name=by)],
            )
        number = _statistic(part, spec, options, date)
        values.append(_text(number))
        numbers.append(float(number))
    estimate = _estimate(spec, sum(numbers), values, len(rows), statistic)
    estimate.extras["levels"] = list(levels)
    if before:
        estimate.extras["explanation"] = {"rows_dated_before": until.isoformat()}
    return estimate


def _estimate(
    spec: EvaluationSpec, number: float, value: Any, rows: int, statistic: str
) -> Estimate:
    return Estimate.exact(
        "aggregate",
        number,
        rows,
        outcome=spec.outcome,
        estimand=statistic,
        extras={"value": value, "rows": rows},
    )
