"""Run an evaluation: a validated spec and a table provider in, an Estimate out.

A spec (:class:`~utfall.core.evaluation.spec.EvaluationSpec`) comes from a
contract's ``evaluations:`` or from a stand-alone spec file (read by
:mod:`utfall.adapters.files`). :func:`evaluate` takes it with a
:class:`~utfall.services.tables.TableProvider`; for a contract's evaluation it
also takes the data declaration, the contract's periods and parameters, and the
day the data is taken (``until``), and reads the frame the declaration defines
(:mod:`utfall.services.frames`). It dispatches on ``method`` (:data:`METHODS`):
the generic estimators of :mod:`utfall.core.evaluation` read the frame as
pandas, the scale-out methods read it through Ibis, rate cards, aggregates and share
changes read the declared tables themselves (they count and pay, exactly). Data problems
raise :class:`~utfall.errors.DataInvalid` naming where the rows came from.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import Any

from utfall.core.contracts.data import DataDeclaration
from utfall.core.contracts.schema import PeriodDocument
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import METHOD_RULES, EvaluationSpec, method_options
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid
from utfall.services.tables import TableProvider

__all__ = ["DETAILS", "METHODS", "EvaluationContext", "evaluate", "evaluate_detail"]


@dataclass(frozen=True)
class EvaluationContext:
    """What a contract's evaluation is run against besides its tables."""

    declaration: DataDeclaration | None = None
    periods: Mapping[str, PeriodDocument] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    until: dt.date | None = None
    parties: tuple[Any, ...] = ()


def _frame(spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext) -> Any:
    """The rows the method reads, as Arrow."""
    if context.declaration is None:
        return tables.table(spec.data)
    from utfall.services.frames import evaluation_frame

    return evaluation_frame(spec, tables, context.declaration, context.periods, until=context.until)


def auxiliary_table(
    spec: EvaluationSpec, key: str, tables: TableProvider, context: EvaluationContext
) -> Any:
    """The table an option names (a price or trend index), as Arrow: a declared series with
    ``month`` (and the spec's periods), or the file a stand-alone spec names."""
    name = str(spec.options[key])
    if context.declaration is None:
        return tables.table(name)
    from utfall.services.frames import series_frame

    return series_frame(name, tables, context.declaration, context.periods, spec.periods)


def _check_columns(spec: EvaluationSpec, columns: list[str], tables: TableProvider) -> None:
    from utfall.core.evaluation._frame import covariate_variables

    wanted: list[tuple[str, str]] = [
        (key, getattr(spec, key))
        for key in ("outcome", "treatment", "unit", "time", "post", "subgroup")
        if getattr(spec, key)
    ]
    try:
        wanted += [("covariates", c) for c in covariate_variables(spec.covariates)]
    except SpecInvalid as error:
        raise SpecInvalid(f"{spec.where_of('covariates')}: {error}") from None
    for key, column in wanted:
        if column not in columns:
            raise SpecInvalid(
                f"{spec.where_of(key)}: {key}: column {column!r} is not in "
                f"{tables.describe(spec.data)} (columns: {', '.join(columns)})"
            )


def _run_generic(
    spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext
) -> Estimate:
    rule = METHOD_RULES[spec.method]
    assert rule.estimator is not None
    options = method_options(spec)
    frame = _frame(spec, tables, context)
    _check_columns(spec, list(frame.column_names), tables)
    frame = frame.to_pandas()
    # The statistics stack is imported only once the spec and the data check out.
    from utfall.core.evaluation.inference import Inference
    from utfall.core.evaluation.subgroups import by_subgroup

    module, function = rule.estimator.split(":")
    estimator = getattr(import_module(f"utfall.core.evaluation.{module}"), function)
    kwargs: dict[str, Any] = {}
    rename = dict(rule.rename)
    for key in (*rule.required, *rule.optional):
        if key == "subgroup":
            continue
        value = getattr(spec, key)
        if key == "covariates":
            value = list(value)
        if value is not None:
            kwargs[rename.get(key, key)] = value
    kwargs.update(options)
    kwargs["inference"] = Inference(
        method=spec.ci.method,
        level=spec.ci.level,
        reps=spec.ci.reps,
        seed=spec.seed,
        interval=spec.ci.interval,
        weights=spec.ci.weights,
    )
    if spec.subgroup:
        return by_subgroup(estimator, frame, spec.subgroup, **kwargs)
    return estimator(frame, **kwargs)


def _run_trend_adjusted(
    spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext
) -> Estimate:
    from utfall.services.evaluation_scale import run_trend_adjusted

    return run_trend_adjusted(
        spec,
        data=_lazy(spec, tables, context),
        trend_index=auxiliary_table(spec, "trend_index", tables, context),
        where=tables.describe(spec.data),
    )


def _run_historical_reference(
    spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext
) -> Estimate:
    from utfall.services.evaluation_scale import run_historical_reference

    prices = (
        auxiliary_table(spec, "price_index", tables, context)
        if spec.options.get("price_index") is not None
        else None
    )
    return run_historical_reference(
        spec, data=_lazy(spec, tables, context), prices=prices, where=tables.describe(spec.data)
    )


def _lazy(spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext) -> Any:
    """The method's rows as an Arrow table, or — from a provider that can (a file too large
    to read whole) — as a lazy Ibis table on the backend the spec names."""
    opener: Callable[[Any, str], Any] | None = getattr(tables, "ibis_table", None)
    if context.declaration is None and opener is not None:
        return lambda connection: opener(connection, spec.data)
    return _frame(spec, tables, context)


Adapter = Callable[[EvaluationSpec, TableProvider, EvaluationContext], Estimate]


def _table_method(module: str, *, contract_only: str | None = None) -> Adapter:
    """A method that reads the declared tables itself (it counts or pays exactly): its
    ``run_<method>`` in ``utfall.services.<module>``. ``contract_only`` says what it needs
    that only a contract's declaration gives."""

    def run(spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext) -> Estimate:
        if contract_only and context.declaration is None:
            raise SpecInvalid(
                f"{spec.where_of('method')}: method: {spec.method} {contract_only}; run it "
                "through the contract"
            )
        runner = getattr(import_module(f"utfall.services.{module}"), f"run_{module}")
        result: Estimate = runner(spec, tables, context)
        return result

    return run


#: method name → how it is run.
METHODS: dict[str, Adapter] = {
    **{name: _run_generic for name, rule in METHOD_RULES.items() if rule.estimator},
    "trend_adjusted": _run_trend_adjusted,
    "historical_reference": _run_historical_reference,
    "rate_card": _table_method(
        "rate_card", contract_only="evaluates a contract's declared participants and events"
    ),
    "aggregate": _table_method("aggregate"),
    "share_change": _table_method(
        "share_change", contract_only="compares the rows of a contract's declared series"
    ),
}


DETAILS: dict[str, str] = {"rate_card": "rate_card:rate_card_detail"}
"""Methods that can show the rows behind their figure → ``module:function`` under
utfall.services: the participants a payment counted and the events it did not, each with
its reason. They hold pseudonyms: only the parties allowed to see individuals get them."""


def evaluate_detail(
    spec: EvaluationSpec, tables: TableProvider, context: EvaluationContext
) -> dict[str, Any]:
    """The rows behind ``spec``'s figure, by part (e.g. ``counted``, ``uncounted``), as Arrow
    tables, under the same rules and data as :func:`evaluate`; SpecInvalid for a method
    that has none."""
    target = DETAILS.get(spec.method)
    if target is None:
        raise SpecInvalid(f"{spec.where_of('method')}: {spec.method} has no rows to show")
    module, function = target.split(":")
    detail = getattr(import_module(f"utfall.services.{module}"), function)(spec, tables, context)
    return dict(detail._asdict())


def _locate(error: DataInvalid, spec: EvaluationSpec, where: str) -> DataInvalid:
    """The same findings, with where the rows came from (and, for CSV, the line) filled in."""
    csv = where.lower().endswith((".csv", ".tsv", ".txt"))
    findings = [
        replace(
            f,
            file=f.file or where,
            line=f.line if f.line is not None or f.row is None or not csv else f.row + 1,
        )
        for f in error.findings
    ]
    summary = error.summary
    if not summary.startswith(where):
        summary = f"{where}: {summary}"
    return type(error)(summary, findings)


def evaluate(
    spec: EvaluationSpec,
    tables: TableProvider,
    context: EvaluationContext | None = None,
) -> Estimate:
    """Run the estimator ``spec.method`` on ``spec.data`` from ``tables``.

    Raises SpecInvalid (naming where the spec was written) for options the method
    cannot take, DataInvalid (naming the table, row and column) for bad data, and
    EvaluationError when the estimator cannot produce a number.
    """
    context = context or EvaluationContext()
    adapter = METHODS.get(spec.method)
    if adapter is None:
        raise SpecInvalid(
            f"{spec.where_of('method')}: method: {spec.method!r} is not a known estimator; "
            f"known: {', '.join(sorted(METHODS))}"
        )
    where = tables.describe(spec.data)
    try:
        estimate = adapter(spec, tables, context)
    except DataInvalid as error:
        raise _locate(error, spec, where) from None
    except SpecInvalid as error:
        text = str(error)
        if spec.source is not None and not text.startswith(spec.source):
            key = text.split(":", 1)[0].split(".", 1)[0]
            raise SpecInvalid(f"{spec.where_of(key)}: {text}") from None
        raise
    except EvaluationError as error:
        raise EvaluationError(f"{spec.where_of()}: {error}") from None
    if not math.isfinite(estimate.estimate):
        raise EvaluationError(f"{spec.where_of()}: {spec.method} produced no finite estimate")
    if spec.sensitivity is not None:
        estimate = _with_sensitivity(spec, estimate)
    return estimate


def _with_sensitivity(spec: EvaluationSpec, estimate: Estimate) -> Estimate:
    """``estimate`` with ``extras["sensitivity"]``: the Rambachan–Roth robust intervals of
    its event study and the breakdown value (docs/evaluation.md, sensitivity)."""
    from utfall.core.evaluation.sensitivity import event_study_sensitivity

    assert spec.sensitivity is not None
    try:
        result = event_study_sensitivity(estimate.extras, spec.sensitivity, level=spec.ci.level)
    except SpecInvalid as error:
        raise SpecInvalid(
            f"{spec.where_of('sensitivity')}: {error}", path=error.path, reason=error.reason
        ) from None
    except EvaluationError as error:
        raise EvaluationError(f"{spec.where_of('sensitivity')}: {error}") from None
    return replace(estimate, extras={**estimate.extras, "sensitivity": result.as_dict()})
