"""Contract inputs computed from data: each bound input names one of the contract's evaluations.

``inputs: {saving_sek: {evaluate: costs, take: cumulative_saving}}`` makes the
settlement run the contract's evaluation ``costs`` over its tables and feed the
figure into the contract. The figure's provenance — the evaluation, its method,
the SHA-256 of every table it read and the estimate with its confidence
interval — goes into the settlement's explanation tree. Every caller (the CLI,
the platform's settlement, the council, the fund) goes through
:func:`inputs_evaluate`, so a figure is computed one way only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from utfall.core.contracts import Contract
from utfall.core.contracts.data import PARTICIPANTS
from utfall.core.contracts.evaluations import AUXILIARY_OPTIONS
from utfall.core.contracts.model import Input
from utfall.core.contracts.schema import MultipleTestingDocument
from utfall.core.contracts.values import ORE
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.errors import SpecInvalid, UserError
from utfall.services.tables import TableProvider, as_of, table_digest

__all__ = [
    "BoundInputs",
    "evaluation_detail",
    "evaluation_tables",
    "evaluations_run",
    "inputs_evaluate",
]


@dataclass(frozen=True)
class BoundInputs:
    """Values computed from data, with where each came from.

    ``evaluations`` holds every estimate by evaluation name (each run once, however
    many inputs take a figure of it); ``digests`` the SHA-256 of each table read.
    """

    values: dict[str, Any]
    origins: dict[str, str]
    details: dict[str, dict[str, Any]]
    estimates: dict[str, Estimate]
    evaluations: dict[str, Estimate]
    digests: dict[str, str]


def evaluation_tables(contract: Contract, spec: EvaluationSpec) -> list[str]:
    """The declared tables an evaluation reads: its own, the participants' (for a
    participant's table) and those its options name."""
    names = [spec.data]
    if contract.data.table(spec.data).per_participant and spec.data != PARTICIPANTS:
        names.append(PARTICIPANTS)
    names += [str(spec.options[key]) for key in AUXILIARY_OPTIONS if spec.options.get(key)]
    return names


def _figure(estimate: Estimate, binding: Input, where: str) -> Any:
    name = binding.take or "estimate"
    try:
        figure = estimate.take(name)
    except KeyError as error:
        raise SpecInvalid(f"{where}: {error.args[0]}") from None
    if figure is None or (isinstance(figure, float) and not math.isfinite(figure)):
        raise SpecInvalid(f"{where}: the evaluation gives no value for {name!r}")
    return figure


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _convert(figure: Any, binding: Input, where: str) -> tuple[Any, str]:
    """The figure in the input's type, and a note on any conversion (rounding, threshold)."""
    if binding.type == "boolean":
        if isinstance(figure, bool):
            return figure, ""
        if binding.at_least is None:
            raise SpecInvalid(
                f"{where}: input {binding.name!r} is boolean; give 'at_least' to turn "
                f"the figure {figure!r} into true/false"
            )
        number = _decimal(float(figure) if isinstance(figure, (int, float)) else figure)
        return number >= binding.at_least, f"{number} ≥ {binding.at_least}"
    if isinstance(figure, (list, tuple)):
        element = binding.of or "number"
        items = [_decimal(v) for v in figure]
        if element == "money":
            items = [v.quantize(ORE, rounding=ROUND_HALF_UP) for v in items]
        return items, "rounded to öre (half-up)" if element == "money" else ""
    if isinstance(figure, bool):
        raise SpecInvalid(
            f"{where}: input {binding.name!r} needs a number, the figure is true/false"
        )
    number = _decimal(figure)
    if binding.type == "money":
        rounded = number.quantize(ORE, rounding=ROUND_HALF_UP)
        return rounded, f"{number} rounded to öre (half-up)" if rounded != number else ""
    if binding.type == "count":
        whole = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return whole, f"{number} rounded to a whole count (half-up)" if whole != number else ""
    return number, ""


def evaluations_run(
    contract: Contract,
    tables: TableProvider,
    names: list[str],
    *,
    until: dt.date | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Estimate], dict[str, str]]:
    """Run the named evaluations of ``contract`` on ``tables`` as of ``until``; the
    estimates by name and the SHA-256 of every table they read."""
    from utfall.services.evaluation import evaluate

    data, context, needed = _prepared(contract, tables, names, until, parameters)
    digests = {name: _digest(data, name) for name in needed}
    estimates = {name: evaluate(contract.evaluations[name], data, context) for name in names}
    return estimates, digests


def _prepared(
    contract: Contract,
    tables: TableProvider,
    names: list[str],
    until: dt.date | None,
    parameters: Mapping[str, Any] | None,
) -> tuple[Any, Any, list[str]]:
    """The tables as of ``until``, the evaluations' context and the tables they read."""
    from utfall.services.evaluation import EvaluationContext

    needed = sorted(
        {t for n in names for t in evaluation_tables(contract, contract.evaluations[n])}
    )
    data: Any = tables
    if until is not None:
        data = as_of(tables, contract.data, until, needed)
    defaults = {n: p.default for n, p in contract.parameters.items()}
    context = EvaluationContext(
        declaration=contract.data,
        periods=contract.periods,
        parameters={**defaults, **(parameters or {})},
        until=until,
        parties=contract.parties,
    )
    return data, context, needed


def evaluation_detail(
    contract: Contract,
    tables: TableProvider,
    name: str,
    *,
    until: dt.date | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The rows behind the figure of the contract's evaluation ``name`` (pseudonyms: for the
    parties allowed to see individuals), as :func:`evaluations_run` computes the figure."""
    from utfall.services.evaluation import evaluate_detail

    data, context, _needed = _prepared(contract, tables, [name], until, parameters)
    return evaluate_detail(contract.evaluations[name], data, context)


def _digest(tables: Any, name: str) -> str:
    digest = getattr(tables, "digest", None)
    return str(digest(name)) if digest is not None else table_digest(tables.table(name))


def inputs_evaluate(
    contract: Contract,
    tables: TableProvider,
    *,
    until: dt.date | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> BoundInputs:
    """Run the evaluation behind every bound input of ``contract`` (each once)."""
    bound = contract.bound_evaluations()
    if not bound:
        raise UserError(f"{contract.source}: no input is bound to an evaluation ('evaluate:')")
    evaluations, digests = evaluations_run(
        contract, tables, list(bound), until=until, parameters=parameters
    )
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    estimates: dict[str, Estimate] = {}
    for name, binding in contract.inputs.items():
        if not binding.evaluate:
            continue
        spec = contract.evaluations[binding.evaluate]
        estimate = evaluations[binding.evaluate]
        where = f"{contract.source}: evaluations.{binding.evaluate}"
        figure = _figure(estimate, binding, where)
        value, note = _convert(figure, binding, where)
        values[name] = value
        estimates[name] = estimate
        origins[name] = (
            f"evaluation {binding.evaluate} ({estimate.method}, {binding.take or 'estimate'})"
        )
        shown: dict[str, Any] = {
            "evaluation": binding.evaluate,
            "tables": {t: digests[t] for t in evaluation_tables(contract, spec)},
            "method": estimate.method,
            "estimate": estimate.estimate,
            "std_error": estimate.std_error,
            f"ci_{round(estimate.level * 100)}": [estimate.ci_low, estimate.ci_high]
            if estimate.ci_low is not None or estimate.ci_high is not None
            else None,
            "n_treated": estimate.n_treated,
            "n_control": estimate.n_control,
            "n_obs": estimate.n_obs,
        }
        if until is not None:
            shown["data_as_of"] = until.isoformat()
        if binding.take:
            shown[binding.take] = (
                figure if not isinstance(figure, (list, tuple)) else f"{len(figure)} values"
            )
        summary = estimate.extras.get("explanation")
        if isinstance(summary, dict):
            shown.update(summary)
        sensitivity = estimate.extras.get("sensitivity")
        if isinstance(sensitivity, dict):
            from utfall.core.evaluation.sensitivity import sensitivity_explanation

            shown.update(sensitivity_explanation(sensitivity))
        if note:
            shown["conversion"] = note
        details[name] = {k: v for k, v in shown.items() if v is not None}
    if contract.document.multiple_testing is not None:
        block = contract.document.multiple_testing
        adjusted = None
        if block.method == "romano_wolf":
            adjusted = _romano_wolf_family(contract, block, tables, estimates, until, parameters)
        _adjust_family(contract, block, values, details, estimates, adjusted)
    return BoundInputs(values, origins, details, estimates, evaluations, digests)


def _romano_wolf_family(
    contract: Contract,
    block: MultipleTestingDocument,
    tables: TableProvider,
    estimates: Mapping[str, Estimate],
    until: dt.date | None,
    parameters: Mapping[str, Any] | None,
) -> Any:
    """The family's Romano–Wolf adjustment: its evaluations re-run on participant
    resamples of the tables (utfall.services.multiple_testing)."""
    from utfall.services.multiple_testing import family_romano_wolf

    family = {name: str(contract.inputs[name].evaluate) for name in block.family}
    if any(
        estimates[name].p_value is None or not math.isfinite(float(estimates[name].p_value or 0))
        for name in block.family
    ):
        return None  # _adjust_family names the input without a p-value
    data, context, _needed = _prepared(
        contract, tables, sorted(set(family.values())), until, parameters
    )
    return family_romano_wolf(
        contract,
        data,
        context,
        family,
        {name: estimates[name] for name in block.family},
        reps=block.reps,
        seed=block.seed,
        alpha=block.alpha,
    )


def _adjust_family(
    contract: Contract,
    block: MultipleTestingDocument,
    values: dict[str, Any],
    details: dict[str, dict[str, Any]],
    estimates: Mapping[str, Estimate],
    romano_wolf: Any = None,
) -> None:
    """Decide the family's boolean inputs on their adjusted p-values: each stays true only
    when its own rule holds and its adjusted p-value is at most the family's alpha
    (``romano_wolf``: the family's adjustment, already computed by resampling)."""
    from utfall.core.evaluation.multiple_testing import adjust

    p_values: dict[str, float] = {}
    for name in block.family:
        p_value = estimates[name].p_value
        if p_value is None or not math.isfinite(p_value):
            raise SpecInvalid(
                f"{contract.source}: multiple_testing.family: input {name!r} is decided by "
                f"evaluation {contract.inputs[name].evaluate!r}, which gives no p-value"
            )
        p_values[name] = p_value
    if romano_wolf is not None:
        adjusted = romano_wolf
    elif block.method == "romano_wolf":
        raise SpecInvalid(f"{contract.source}: multiple_testing: romano_wolf was not computed")
    else:
        adjusted = adjust(p_values, block.method, alpha=block.alpha)
    members = ", ".join(block.family)
    if romano_wolf is not None:
        members += f"; {block.reps} participant resamples, seed {block.seed}"
    for name, p_adjusted, rejected in zip(
        adjusted.names, adjusted.adjusted, adjusted.rejected, strict=True
    ):
        own = bool(values[name])
        values[name] = own and rejected
        details[name].update(
            {
                "p_value": p_values[name],
                f"p_value_{block.method}": p_adjusted,
                "multiple_testing": f"{block.method} over {members}, alpha {block.alpha}",
                "decision": (
                    f"{'true' if values[name] else 'false'}: own rule "
                    f"{'met' if own else 'not met'}, adjusted p-value {p_adjusted:.4g} "
                    f"{'≤' if rejected else '>'} {block.alpha}"
                ),
            }
        )
