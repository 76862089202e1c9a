"""A contract's evaluations, compiled against its data declaration.

Each evaluation reads one declared table. A participant's table is joined to the
participants; the join adds the derived columns of :data:`DERIVED_COLUMNS`, and the
frame keys reshape the rows (decision 0206):

``where``    keep rows whose column has the value (or one of the listed values); in a
             participant's table the column may be one of the participants' (their group);
``per``      ``month``: sum the outcome per participant and calendar month, a month
             without rows counting as 0, over ``span``: ``observed`` (each
             participant's first to last month with rows) or ``membership``
             (inclusion to leaving, up to the day the data is taken);
``periods``  the contract periods a month is counted in: ``period`` is the period's
             name and ``period_month`` the month's number in it (1 = the first);
             other months are left out.

``post`` is 1 for a row dated after the inclusion date (with ``per: month``: from the
month of inclusion); ``treated`` is 1 for the participants whose group column has the
declared treated value (every participant when no group is declared). The method's
``unit`` defaults to ``participant`` and its ``treatment`` to ``treated``.
:func:`frame_columns` gives the columns (and their types) an evaluation's method sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from utfall.core.contracts.data import IDENTITY_COLUMN, NUMERIC, PARTICIPANTS, DataDeclaration
from utfall.core.contracts.schema import EvaluationDocument, PeriodDocument
from utfall.core.contracts.yamlio import YamlDocument, path_text
from utfall.core.evaluation.spec import (
    METHOD_RULES,
    EvaluationSpec,
    method_options,
    spec_validate,
)
from utfall.errors import Finding, SpecInvalid

__all__ = ["AUXILIARY_OPTIONS", "compile_evaluations", "frame_columns"]

AUXILIARY_OPTIONS = ("trend_index", "price_index")
"""Method options that name another declared table (a series) the method reads."""

_COLUMN_KEYS = ("outcome", "treatment", "unit", "time", "post", "subgroup")


def frame_columns(declaration: DataDeclaration, spec: EvaluationSpec) -> dict[str, str]:
    """Column name → type of the frame ``spec``'s method is given (KeyError if its table
    is not declared)."""
    table = declaration.table(spec.data)
    if table.is_participants:
        columns = {c.name: c.type for c in table.columns}
        columns.update({IDENTITY_COLUMN: "text", "treated": "integer"})
        return columns
    if not table.per_participant:
        columns = {c.name: c.type for c in table.columns}
        columns["month"] = "date"
    elif spec.per == "month":
        assert declaration.participants is not None
        columns = {c.name: c.type for c in declaration.participants.columns}
        if spec.outcome and table.has(spec.outcome):
            columns[spec.outcome] = table.column(spec.outcome).type
    else:
        assert declaration.participants is not None
        columns = {c.name: c.type for c in declaration.participants.columns}
        columns.update({c.name: c.type for c in table.columns})
    if table.per_participant:
        columns.update(
            {
                IDENTITY_COLUMN: "text",
                "treated": "integer",
                "post": "integer",
                "months_since_inclusion": "integer",
                "month": "date",
            }
        )
    if spec.periods:
        columns.update({"period": "text", "period_month": "integer"})
    return columns


def _locator(yaml_doc: YamlDocument, base: tuple[Any, ...]) -> Any:
    def locate(path: tuple[str, ...]) -> str:
        line, _ = yaml_doc.position((*base, *path))
        where = f"{yaml_doc.source}:{line}" if line else yaml_doc.source
        return f"{where}: {path_text((*base, *path))}"

    return locate


def _check(
    name: str,
    spec: EvaluationSpec,
    declaration: DataDeclaration,
    parameters: Mapping[str, Any],
    periods: Mapping[str, PeriodDocument],
    yaml_doc: YamlDocument,
    findings: list[Finding],
) -> None:
    base: tuple[Any, ...] = ("evaluations", name)

    def problem(code: str, message: str, *path: Any) -> None:
        findings.append(yaml_doc.finding(code, message, (*base, *path)))

    try:
        table = declaration.table(spec.data)
    except KeyError:
        shown = ", ".join(declaration.names) or "none are declared under data:"
        problem("unknown-table", f"no declared table {spec.data!r} (tables: {shown})", "table")
        return
    if table.per_participant and declaration.participants is None:
        return  # reported at the table: its participants are not declared
    rule = METHOD_RULES[spec.method]
    if rule.participants and not table.per_participant:
        problem("needs-participants", f"{spec.method} evaluates a participant's table", "table")
    for period in spec.periods:
        if period not in periods:
            problem(
                "unknown-period",
                f"the contract has no period {period!r} ({', '.join(periods) or 'none'})",
                "periods",
            )
    if spec.per == "month":
        if not table.per_participant or table.is_participants:
            problem(
                "bad-per", "per: month sums a participant's records, events or measurements", "per"
            )
        elif not spec.outcome or not table.has(spec.outcome):
            problem(
                "bad-per",
                f"per: month sums the outcome, a numeric column of {table.name}",
                "outcome",
            )
        elif table.column(spec.outcome).type not in NUMERIC:
            problem("bad-per", f"per: month sums {spec.outcome!r}, which is not a number", "per")
    columns = frame_columns(declaration, spec)
    known = ", ".join(sorted(columns))
    for key in _COLUMN_KEYS:
        column = getattr(spec, key)
        if column and column not in columns:
            problem("unknown-column", f"{key}: {column!r} is not a column here ({known})", key)
    for column in spec.covariates:
        bare = column.strip()
        if bare.isidentifier() and bare not in columns:
            problem(
                "unknown-column", f"covariate {bare!r} is not a column here ({known})", "covariates"
            )
    # Only the generic estimators read the joined frame; the others read the table itself.
    joined = table.per_participant and rule.estimator is not None
    people = declaration.participants if joined else None
    for column, value in spec.where.items():
        # A participant's table may also be narrowed by a column of the participants
        # (e.g. their group), when the table has no column of that name.
        source = table if table.has(column) else None
        if source is None and people is not None and people.has(column):
            source = people
        if source is None:
            problem(
                "unknown-column",
                f"where: {column!r} is not a column of {table.name}"
                + (" or of the participants" if people is not None else ""),
                "where",
                column,
            )
            continue
        declared = source.column(column)
        values = value if isinstance(value, list) else [value]
        if declared.type == "choice":
            wrong = [v for v in values if str(v) not in declared.choice_values]
            if wrong:
                problem(
                    "unknown-choice",
                    f"where: {column} has no value {wrong[0]!r} "
                    f"({', '.join(declared.choice_values)})",
                    "where",
                    column,
                )
    options = method_options(spec)
    for key in AUXILIARY_OPTIONS:
        other = options.get(key)
        if other is None:
            continue
        if other not in declaration.names or declaration.table(other).per_participant:
            problem(
                "unknown-table",
                f"options.{key}: {other!r} is not a declared series table",
                "options",
                key,
            )
    if spec.method == "rate_card":
        _check_rate_card(
            options, table, declaration, parameters, periods, problem, subgroup=spec.subgroup
        )
    if spec.method == "aggregate" and options.get("by"):
        by = options["by"]
        if by not in columns:
            problem(
                "unknown-column",
                f"options.by: {by!r} is not a column here ({known})",
                "options",
                "by",
            )
    if spec.method == "share_change":
        _check_share_change(options, table, problem)
    if spec.method == "staggered_did":
        group = options.get("group")
        if group is None and spec.treatment is None:
            problem(
                "missing-group",
                "staggered_did needs options.group (the column of each unit's first treated "
                "period) or treatment (an absorbing 0/1 column)",
                "options",
            )
        elif group is not None and group not in columns:
            problem(
                "unknown-column",
                f"options.group: {group!r} is not a column here ({known})",
                "options",
                "group",
            )


_SHARE_CHANGE_COLUMNS = (
    ("n_column", "n", "integer"),
    ("count_column", "count", "integer"),
    ("baseline_column", "baseline", "boolean"),
)


def _check_share_change(options: Mapping[str, Any], table: Any, problem: Any) -> None:
    """A share change reads a series with integer n and count columns and a boolean baseline."""
    if table.per_participant:
        problem(
            "needs-series",
            f"share_change reads a series of counts; {table.name} holds a participant's rows",
            "table",
        )
        return
    for key, default, kind in _SHARE_CHANGE_COLUMNS:
        column = options.get(key, default)
        if not table.has(column) or table.column(column).type != kind:
            problem(
                "unknown-column",
                f"options.{key}: {table.name} has no {kind} column {column!r}",
                "options",
                key,
            )


def _check_rate_card(
    options: Mapping[str, Any],
    table: Any,
    declaration: DataDeclaration,
    parameters: Mapping[str, Any],
    periods: Mapping[str, PeriodDocument],
    problem: Any,
    *,
    subgroup: str | None = None,
) -> None:
    """A rate card's options against the declaration and the contract's parameters."""

    def money_parameter(name: str | None, *path: Any) -> None:
        if name is None:
            return
        term = parameters.get(name)
        if term is None or term.type != "money":
            problem(
                "unknown-parameter",
                f"{name!r} is not a money parameter of the contract",
                "options",
                *path,
            )
        elif term.default is not None and term.default < 0:
            problem(
                "negative-price",
                f"the parameter {name!r} prices or caps a rate card; "
                "its default may not be negative",
                "options",
                *path,
            )

    if table.is_participants:
        problem(
            "needs-events",
            "a rate card reads an events table of the participants, not "
            "the participants themselves",
            "table",
        )

    outcome_column = options.get("outcome_column", "outcome")
    outcomes = options["outcomes"]
    if not table.has(outcome_column) or table.column(outcome_column).type != "choice":
        problem(
            "unknown-column",
            f"options.outcome_column: {table.name} has no choice column {outcome_column!r}",
            "options",
            "outcome_column",
        )
    else:
        declared = table.column(outcome_column).choice_values
        for outcome in outcomes:
            if outcome not in declared:
                problem(
                    "unknown-outcome",
                    f"{outcome!r} is not a value of {table.name}."
                    f"{outcome_column} ({', '.join(declared)})",
                    "options",
                    "outcomes",
                    outcome,
                )
    evidence = options.get("evidence_column", "evidence")
    if "evidence_column" in options and evidence and not table.has(evidence):
        problem(
            "unknown-column",
            f"options.evidence_column: {table.name} has no column {evidence!r}",
            "options",
            "evidence_column",
        )
    if options.get("require_evidence") and not (evidence and table.has(evidence)):
        problem(
            "unknown-column",
            f"options.require_evidence: {table.name} has no evidence "
            "column (options.evidence_column)",
            "options",
            "require_evidence",
        )
    group = options.get("price_group")
    participants = declaration.participants
    group_values: tuple[str, ...] | None = None
    if group is not None and (participants is None or not participants.has(group)):
        problem(
            "unknown-column",
            f"options.price_group: the participants have no column {group!r}",
            "options",
            "price_group",
        )
    elif group is not None and participants is not None:
        declared_group = participants.column(group)
        if declared_group.type == "choice":
            group_values = declared_group.choice_values
    if subgroup is not None and (participants is None or not participants.has(subgroup)):
        problem(
            "unknown-column",
            f"subgroup: a rate card's subgroup is a column of the participants, not {subgroup!r}",
            "subgroup",
        )
    for name, outcome in outcomes.items():
        money_parameter(outcome.price, "outcomes", name, "price")
        money_parameter(outcome.cap, "outcomes", name, "cap")
        for level, price in outcome.prices_by_group.items():
            money_parameter(price, "outcomes", name, "prices_by_group", level)
            if group is None:
                problem(
                    "no-price-group",
                    "prices by group need options.price_group",
                    "outcomes",
                    name,
                    "prices_by_group",
                )
            elif group_values is not None and level not in group_values:
                problem(
                    "unknown-choice",
                    f"prices_by_group: {group} has no value {level!r} ({', '.join(group_values)})",
                    "outcomes",
                    name,
                    "prices_by_group",
                    level,
                )
        if outcome.requires is not None and outcome.requires not in outcomes:
            problem(
                "unknown-outcome",
                f"requires {outcome.requires!r}, which is not an outcome of this rate card",
                "outcomes",
                name,
                "requires",
            )
    money_parameter(options.get("cap_per_participant"), "cap_per_participant")
    money_parameter(options.get("cap_total"), "cap_total")
    period = options.get("period")
    if period is not None and period not in periods:
        problem(
            "unknown-period",
            f"options.period: the contract has no period {period!r}",
            "options",
            "period",
        )
    # Prerequisites must not go round in a circle.
    for name in outcomes:
        seen = {name}
        step = outcomes[name].requires
        while step is not None and step in outcomes:
            if step in seen:
                problem(
                    "requires-cycle",
                    f"{name} requires itself through {step}",
                    "outcomes",
                    name,
                    "requires",
                )
                break
            seen.add(step)
            step = outcomes[step].requires


def compile_evaluations(
    documents: Mapping[str, EvaluationDocument],
    declaration: DataDeclaration,
    parameters: Mapping[str, Any],
    periods: Mapping[str, PeriodDocument],
    yaml_doc: YamlDocument,
    findings: list[Finding],
) -> dict[str, EvaluationSpec]:
    """Every evaluation as a spec over its declared table; problems go to ``findings``."""
    compiled: dict[str, EvaluationSpec] = {}
    for name, document in documents.items():
        base: tuple[Any, ...] = ("evaluations", name)
        if document.table not in declaration.names:
            shown = ", ".join(declaration.names) or "none are declared under data:"
            findings.append(
                yaml_doc.finding(
                    "unknown-table",
                    f"no declared table {document.table!r} (tables: {shown})",
                    (*base, "table"),
                )
            )
            continue
        raw = document.model_dump(
            exclude={"table", "label", "description", "summary"}, exclude_unset=True
        )
        raw["method"] = document.method
        raw["data"] = document.table
        rule = METHOD_RULES.get(document.method)
        per_participant = document.table == PARTICIPANTS or (
            document.table in declaration.tables
            and declaration.tables[document.table].per_participant
        )
        if rule is not None and per_participant:
            takes = {*rule.required, *rule.optional}
            if "unit" in takes and "unit" not in raw:
                raw["unit"] = IDENTITY_COLUMN
            if "treatment" in takes and "treatment" not in raw:
                raw["treatment"] = "treated"
        if "ci" in raw:
            raw["ci"] = document.ci.model_dump(exclude_unset=True)
        lines = {}
        for key in raw:
            line, _ = yaml_doc.position((*base, key))
            if line:
                lines[key] = line
        try:
            spec = spec_validate(
                raw,
                source=f"{yaml_doc.source}: evaluations.{name}",
                locate=_locator(yaml_doc, base),
                top_level_options=False,
                lines=lines,
            )
        except SpecInvalid as error:
            findings.append(
                yaml_doc.finding("evaluation", error.reason, (*base, *(error.path or ())))
            )
            continue
        _check(name, spec, declaration, parameters, periods, yaml_doc, findings)
        compiled[name] = spec
    return compiled
