"""The design stage, run for a spec or a contract's evaluation (objects in, figures out).

:func:`design_run` takes a validated :class:`~utfall.core.design.spec.DesignSpec` and,
for the methods whose variance comes from data, a table provider holding ``spec.data``.
:func:`contract_payment_risk` simulates a contract's evaluation under a range of true
effects and settles the contract on each simulated figure, the way the settlement does
(:mod:`utfall.services.bindings`). :func:`contract_registration` gives the content a
pre-registration writes to the ledger; :func:`registration_compare` says, at
settlement, whether the specs used are the registered ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from utfall.core.contracts import Contract
from utfall.core.contracts.engine import settle
from utfall.core.design import (
    DATA_METHODS,
    SIMULATED_METHODS,
    Design,
    DesignSpec,
    PaymentRisk,
    design,
    design_sample,
    payment_risk,
    registration_record,
    spec_deviations,
    spec_record,
    trend_index_frame,
)
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.errors import SpecInvalid, UserError
from utfall.services.tables import ArrowTables, TableProvider

__all__ = [
    "contract_payment_risk",
    "contract_registration",
    "design_check_evaluation",
    "design_run",
    "registration_compare",
]

# The design method each evaluation method may be planned with.
_PLANNED_AS = {
    "difference_in_means": ("difference_in_means", "proportions"),
    "share_change": ("proportions",),
    "did": ("did",),
    "twfe": ("twfe", "did"),
    "historical_reference": ("historical_reference",),
    "trend_adjusted": ("trend_adjusted",),
}


def design_run(spec: DesignSpec, tables: TableProvider | None = None) -> Design:
    """The design figures of ``spec``; a data method reads ``spec.data`` from ``tables``."""
    if spec.method in DATA_METHODS and spec.data is not None:
        if tables is None:
            raise SpecInvalid(f"{spec.source}: data: {spec.method} needs the table {spec.data!r}")
        frame = tables.table(spec.data).to_pandas()
        sample = design_sample(frame, spec, describe=tables.describe(spec.data))
        return design(spec, sample)
    return design(spec)


def design_check_evaluation(contract: Contract, name: str, spec: DesignSpec) -> EvaluationSpec:
    """The contract's evaluation ``name``, if ``spec`` can plan it (SpecInvalid says which
    design method can)."""
    evaluation = contract.evaluations.get(name)
    if evaluation is None:
        raise UserError(
            f"{contract.source}: no evaluation {name!r}; the contract has: "
            f"{', '.join(contract.evaluations) or 'none'}"
        )
    allowed = _PLANNED_AS.get(evaluation.method, ())
    if spec.method not in allowed:
        raise SpecInvalid(
            f"{spec.source}: method: evaluation {name!r} is {evaluation.method}; plan it as "
            f"{' or '.join(allowed) or 'nothing yet (no design for this method)'}"
        )
    return evaluation


def _base_facts(contract: Contract, facts: Mapping[str, Any] | None) -> dict[str, Any]:
    if facts is not None:
        return dict(facts)
    if not contract.tests:
        raise UserError(
            f"{contract.source}: give facts for the inputs the evaluation does not set "
            "(--facts); the contract has no test case to take them from"
        )
    return dict(contract.tests[0].inputs)


def _with_months(spec: DesignSpec, evaluation: EvaluationSpec) -> DesignSpec:
    """``spec`` with the months to draw: the spec's, else the follow-up the contract's
    historical reference evaluates (``options.horizon`` + 1 from ``start_month``), else
    the default of :data:`utfall.core.design.simulation.MONTHS`."""
    if spec.method not in DATA_METHODS or spec.months is not None:
        return spec
    from utfall.core.design.simulation import MONTHS

    months = MONTHS[spec.method]
    horizon = evaluation.options.get("horizon")
    if spec.method == "historical_reference" and isinstance(horizon, int):
        months = max(1, horizon + 1 - int(evaluation.options.get("start_month") or 0))
    return spec.model_copy(update={"months": months})


def contract_payment_risk(
    contract: Contract,
    evaluation: str,
    spec: DesignSpec,
    *,
    facts: Mapping[str, Any] | None = None,
    effects: Sequence[float] | None = None,
    reps: int | None = None,
    seed: int | None = None,
    n_per_group: int | None = None,
    tables: TableProvider | None = None,
) -> tuple[Design, PaymentRisk]:
    """Simulate ``evaluation`` of ``contract`` under the true ``effects`` (default: 0,
    half the design effect, the design effect and one and a half times it) and settle
    the contract on each figure: the design and the payment risk.

    The inputs the evaluation does not set come from ``facts`` (default: the contract's
    first test case). The evaluation runs on the drawn rows exactly as in a settlement
    (the same estimator, options and inference; the frame keys ``where``, ``per`` and
    ``subgroup`` are left out, as the drawn rows are already the frame). A
    ``historical_reference`` is drawn over the months it evaluates (``options.horizon``)
    without its price index (prices constant); a ``trend_adjusted`` saving with the trend
    index of :func:`~utfall.core.design.trend_index_frame`. A spec naming ``data`` takes
    its SD (and ``n_reference``, or the employees' autocorrelation) from ``tables``.
    """
    evaluation_spec = design_check_evaluation(contract, evaluation, spec)
    if spec.method not in SIMULATED_METHODS:
        raise SpecInvalid(
            f"{spec.source}: method: payment risk simulates {', '.join(SIMULATED_METHODS)}"
        )
    spec = _with_months(spec, evaluation_spec)
    figures = design_run(spec, tables)
    if spec.data is not None:
        # The draws take the variance the design read from the reference (employee) rows.
        update: dict[str, Any] = {"data": None}
        if spec.sd is None:
            update["sd"] = figures.sd
        if spec.method == "historical_reference" and spec.n_reference is None:
            update["n_reference"] = figures.n_reference
        observed_r = figures.details.get("sample", {}).get("autocorrelation")
        if spec.method == "trend_adjusted" and spec.autocorrelation == 0 and observed_r:
            update["autocorrelation"] = min(max(float(observed_r), 0.0), 0.99)
        spec = spec.model_copy(update=update)
    size = n_per_group or figures.n_per_group
    if size is None:
        raise SpecInvalid(f"{spec.source}: n_per_group: give the units the evaluation will have")
    effect = figures.effect
    if effects is None:
        effects = spec.effects or ([0.0, effect / 2, effect, effect * 1.5] if effect else [0.0])
    runnable = evaluation_spec.model_copy(
        update={"where": {}, "per": None, "span": "observed", "periods": [], "subgroup": None}
    )
    columns = {
        "outcome": runnable.outcome or "outcome",
        "treatment": runnable.treatment or "treated",
        "post": runnable.post or "post",
    }
    if runnable.unit:
        columns["unit"] = runnable.unit
    if spec.method == "twfe":
        columns.update(time=runnable.time or "period", unit=runnable.unit or "unit")
    tables_extra: dict[str, pa.Table] = {}
    if spec.method == "historical_reference":
        columns.update(unit=runnable.unit or "unit", time=runnable.time or "month")
        options = {
            k: v
            for k, v in runnable.options.items()
            if k not in ("price_index", "price_month", "price_value", "calendar")
        }
        options.update(start_month=0, horizon=(spec.months or 1) - 1)
        runnable = runnable.model_copy(update={"options": options})
    if spec.method == "trend_adjusted":
        columns.update(
            unit=runnable.unit or "employee",
            time=runnable.time or "month_index",
            post=runnable.post or "period",
        )
        options = dict(runnable.options)
        options.update(contract_value="contract", not_yet_observed="refuse")
        runnable = runnable.model_copy(update={"options": options})
        index_columns = {
            "period": str(options.get("trend_period") or columns["post"]),
            "time": str(options.get("trend_time") or columns["time"]),
            "value": str(options.get("trend_value") or "slt"),
        }
        tables_extra[str(options["trend_index"])] = pa.Table.from_pandas(
            trend_index_frame(spec, index_columns), preserve_index=False
        )
    from utfall.services.bindings import _convert, _figure  # one conversion, as settled
    from utfall.services.evaluation import evaluate

    base = _base_facts(contract, facts)
    bound = {n: t for n, t in contract.inputs.items() if t.evaluate == evaluation}
    if not bound:
        raise UserError(f"{contract.source}: no input takes a figure of evaluation {evaluation!r}")

    def run(frame: Any) -> Estimate:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return evaluate(
            runnable,
            ArrowTables({**tables_extra, runnable.data: table}, origin="simulated data"),
        )

    def pay(estimate: Estimate) -> dict[str, Decimal]:
        values = dict(base)
        where = f"{contract.source}: evaluations.{evaluation}"
        for name, binding in bound.items():
            values[name], _note = _convert(_figure(estimate, binding, where), binding, where)
        settlement = settle(contract, values)
        return {line.id: line.amount for line in settlement.payments}

    used_seed = (
        seed if seed is not None else (spec.seed if spec.seed is not None else secrets.randbits(32))
    )
    risk = payment_risk(
        spec,
        n_per_group=size,
        columns=columns,
        evaluate=run,
        pay=pay,
        effects=list(effects),
        reps=reps or spec.reps,
        seed=used_seed,
        design_effect=effect,
    )
    return figures, risk


def contract_registration(
    contract: Contract, designs: Mapping[str, Design | Mapping[str, Any]]
) -> dict[str, Any]:
    """The content of the pre-registration of ``contract``'s evaluations: every
    evaluation's spec and the design figures given for some of them."""
    figures = {
        name: (value.as_dict() if isinstance(value, Design) else dict(value))
        for name, value in designs.items()
    }
    unknown = [name for name in figures if name not in contract.evaluations]
    if unknown:
        raise UserError(f"{contract.source}: no evaluation {unknown[0]!r} to register")
    return registration_record(
        contract_id=contract.id,
        contract_version=contract.version,
        contract_sha256=contract.sha256,
        specs=dict(contract.evaluations),
        designs=figures,
    )


def registration_compare(
    registered: Mapping[str, Any], contract: Contract, evaluations: Sequence[str]
) -> dict[str, Any]:
    """Whether the specs ``contract`` settles ``evaluations`` with are the registered ones:
    ``{"registered_contract_sha256", "same_contract", "evaluations": {name: {"registered",
    "matches", "deviations"}}}``; an evaluation not registered shows ``registered: false``."""
    out: dict[str, Any] = {
        "registered_contract_sha256": registered.get("contract_sha256"),
        "same_contract": registered.get("contract_sha256") == contract.sha256,
        "evaluations": {},
    }
    entries = registered.get("evaluations") or {}
    for name in evaluations:
        spec = contract.evaluations.get(name)
        entry = entries.get(name)
        if spec is None:
            continue
        if entry is None:
            out["evaluations"][name] = {"registered": False, "matches": False, "deviations": []}
            continue
        deviations = spec_deviations(entry.get("spec") or {}, spec_record(spec))
        out["evaluations"][name] = {
            "registered": True,
            "matches": not deviations,
            "deviations": deviations,
        }
    return out
