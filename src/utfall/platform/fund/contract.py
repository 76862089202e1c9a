"""What the fund knows about its contract: configuration, checked against the declaration.

The fund never names its contract's tables, columns, inputs or outputs: they are the
fund's configuration (:class:`FundConfiguration`, fields of the ``Fund``), checked
against the contract's declaration when the fund is created and again when a
constellation's contract is made (:func:`fund_contract`, every problem at once, located
by the field). The rest is found from the declaration by these rules (decision 0506):

* an **indicator** of the library is paid on by the evaluation over the reports table
  whose ``where`` keeps exactly that value of the indicator column, and through the
  input that takes a figure of that evaluation (the first, in the contract's order);
  an indicator no evaluation keeps is followed, not paid;
* the statement's **costs to date** and **paid before** are the inputs computed by the
  evaluations over the costs table and the payments table (exactly one each); the
  payments evaluation counts only rows dated before the day the data is taken
  (``aggregate`` with ``dated: before``), so a report's statement never counts its own
  payment and never misses an earlier one;
* every input of the contract is computed from its data: the fund starts statements
  without manual inputs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from utfall.core.contracts import Contract as CoreContract
from utfall.core.exports import spreadsheet_row
from utfall.errors import Finding, FindingsError

__all__ = [
    "FundConfiguration",
    "FundContract",
    "FundInvalid",
    "configuration_findings",
    "fund_contract",
    "rows_csv",
]

# The platform roles that write each table: the constellation's lead organisation is the
# contract's provider, the fund's administrator its commissioner (it pays).
REPORTERS = ("provider", "commissioner")
PAYER = ("commissioner",)


class FundInvalid(FindingsError):
    """The fund's configuration does not fit its contract's declaration."""


@dataclass(frozen=True)
class FundConfiguration:
    """Where in its contract the fund writes its rows and what it reads back."""

    reports_table: str
    indicator_column: str
    n_column: str
    count_column: str
    baseline_column: str
    costs_table: str
    costs_column: str
    payments_table: str
    payment_column: str
    value_output: str

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names (also the ``Fund`` model's)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, fund: Any) -> FundConfiguration | None:
        """The configuration stored on a fund, or None when it has none."""
        values = {name: getattr(fund, name) for name in cls.names()}
        if not any(values.values()):
            return None
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.names()}


def _series(
    document: CoreContract,
    name: str,
    field: str,
    roles: Sequence[str],
    columns: Mapping[str, tuple[str, str]],
    findings: list[Finding],
) -> None:
    """A declared series with these typed columns, importable by these roles, whose every
    required column the fund fills."""

    def problem(code: str, message: str, where: str = field) -> None:
        findings.append(Finding(code, message, field_name=where))

    try:
        table = document.data.table(name)
    except KeyError:
        shown = ", ".join(document.data.names) or "none"
        problem("unknown-table", f"the contract declares no table {name!r} (its tables: {shown})")
        return
    if table.per_participant:
        problem("not-a-series", f"{name} holds a participant's rows; the fund writes a series")
        return
    missing_roles = [role for role in roles if role not in table.import_roles]
    if missing_roles:
        problem(
            "import-role",
            f"{name} must be importable by the {' and '.join(missing_roles)} "
            f"(it declares import: {', '.join(table.import_roles)})",
        )
    filled = {table.date}
    for where, (column, kind) in columns.items():
        if not column:
            problem("missing", "name the column", where)
            continue
        if not table.has(column):
            problem("unknown-column", f"{name} has no column {column!r}", where)
        elif table.column(column).type != kind:
            problem(
                "column-type",
                f"{name}.{column} is {table.column(column).type}, the fund needs {kind}",
                where,
            )
        filled.add(column)
    unfilled = [c.name for c in table.columns if c.required and c.name not in filled]
    if unfilled:
        problem(
            "unfilled-column",
            f"{name} requires {', '.join(unfilled)}, which the fund does not fill",
        )


def configuration_findings(
    document: CoreContract, configuration: FundConfiguration | None
) -> list[Finding]:
    """Every problem of ``configuration`` against the contract ``document``."""
    if configuration is None:
        return [
            Finding(
                "no-configuration",
                "a fund paying under a contract needs its configuration: the tables of the "
                "reports, the costs and the payments, their columns and the outcome value",
                field_name="configuration",
            )
        ]
    c = configuration
    findings: list[Finding] = []
    tables = [c.reports_table, c.costs_table, c.payments_table]
    if len(set(tables)) != len(tables):
        findings.append(
            Finding(
                "same-table",
                "the reports, the costs and the payments go to three different tables",
                field_name="payments_table",
            )
        )
    _series(
        document,
        c.reports_table,
        "reports_table",
        REPORTERS,
        {
            "indicator_column": (c.indicator_column, "choice"),
            "n_column": (c.n_column, "integer"),
            "count_column": (c.count_column, "integer"),
            "baseline_column": (c.baseline_column, "boolean"),
        },
        findings,
    )
    _series(
        document,
        c.costs_table,
        "costs_table",
        REPORTERS,
        {"costs_column": (c.costs_column, "money")},
        findings,
    )
    _series(
        document,
        c.payments_table,
        "payments_table",
        PAYER,
        {"payment_column": (c.payment_column, "money")},
        findings,
    )
    output = document.outputs.get(c.value_output)
    if output is None or output.type != "money":
        findings.append(
            Finding(
                "value-output",
                f"the contract has no money output {c.value_output!r}",
                field_name="value_output",
            )
        )
    for term in document.inputs.values():
        if not term.evaluate:
            findings.append(
                Finding(
                    "manual-input",
                    f"the input {term.name} is not computed from the data (evaluate:): the "
                    "fund starts its statements without manual inputs",
                    field_name="configuration",
                )
            )
    for table, field in ((c.costs_table, "costs_table"), (c.payments_table, "payments_table")):
        bound = _inputs_over(document, table)
        if len(bound) != 1:
            findings.append(
                Finding(
                    "bound-input",
                    f"exactly one input must be computed from {table} "
                    f"({', '.join(bound) or 'none is'})",
                    field_name=field,
                )
            )
    for name, spec in document.evaluations.items():
        if spec.data == c.payments_table and not (
            spec.method == "aggregate"
            and spec.options.get("statistic", "sum") == "sum"
            and spec.options.get("dated") == "before"
        ):
            findings.append(
                Finding(
                    "paid-before",
                    f"the evaluation {name} of {c.payments_table} must add the payments dated "
                    "before the day the data is taken (method: aggregate, options: {statistic: "
                    "sum, dated: before}), so a report never counts its own payment",
                    field_name="payments_table",
                )
            )
    return findings


def _inputs_over(document: CoreContract, table: str) -> list[str]:
    return [
        name
        for name, term in document.inputs.items()
        if term.evaluate and document.evaluations[term.evaluate].data == table
    ]


@dataclass(frozen=True)
class FundContract:
    """A fund's configuration resolved against one version of its contract."""

    document: CoreContract
    configuration: FundConfiguration
    cost_input: str
    paid_input: str

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        """The values of the reports' indicator column."""
        table = self.document.data.table(self.configuration.reports_table)
        return table.column(self.configuration.indicator_column).choice_values

    def indicator_evaluation(self, code: str) -> str | None:
        """The evaluation that keeps exactly this indicator of the reports table."""
        column = self.configuration.indicator_column
        for name, spec in self.document.evaluations.items():
            if spec.data != self.configuration.reports_table:
                continue
            kept = spec.where.get(column)
            if kept == code or kept == [code]:
                return name
        return None

    def indicator_input(self, code: str) -> str | None:
        """The input paid on the indicator (None: the indicator is followed, not paid)."""
        evaluation = self.indicator_evaluation(code)
        if evaluation is None:
            return None
        for name, term in self.document.inputs.items():
            if term.evaluate == evaluation:
                return name
        return None


def fund_contract(document: CoreContract, configuration: FundConfiguration | None) -> FundContract:
    """The configuration resolved against ``document``; :class:`FundInvalid` lists every
    problem."""
    findings = configuration_findings(document, configuration)
    if findings:
        raise FundInvalid(
            f"the fund's configuration does not fit the contract {document.id}", findings
        )
    assert configuration is not None
    return FundContract(
        document,
        configuration,
        _inputs_over(document, configuration.costs_table)[0],
        _inputs_over(document, configuration.payments_table)[0],
    )


def rows_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A CSV file (UTF-8, header of column names) of rows of plain values: dates in ISO
    form, booleans true/false, decimals as exact text; text a spreadsheet would run as a
    formula is neutralised (decision 0623)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(spreadsheet_row(columns))
    for row in rows:
        writer.writerow(
            spreadsheet_row(
                ("true" if value else "false")
                if isinstance(value, bool)
                else value.isoformat()
                if hasattr(value, "isoformat")
                else str(value)
                for value in row
            )
        )
    return out.getvalue().encode("utf-8")
