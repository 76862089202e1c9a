"""Romano–Wolf over a contract's family of tested inputs: the evaluations bootstrapped jointly.

Holm and Benjamini–Hochberg adjust from the family's p-values alone. Romano–Wolf needs
the joint distribution of the family's test statistics, so every evaluation of the family
is re-run on the same resamples of the data: participants are drawn with replacement,
each drawn participant's rows come along in every per-participant table (a participant
drawn twice counts as two participants, under two new pseudonyms), and series tables
(indices, calendars) are kept as they are. The correlation between outcomes measured on
the same children is so kept, which is what makes Romano–Wolf less conservative than Holm
(docs/decisions/0720-romano-wolf-in-contracts-draws-participants.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from utfall.core.contracts import Contract
from utfall.core.contracts.data import IDENTITY_COLUMN
from utfall.core.evaluation.multiple_testing import Adjusted, romano_wolf
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid
from utfall.services.evaluation import EvaluationContext
from utfall.services.tables import ArrowTables, TableProvider

__all__ = ["family_romano_wolf"]

# Methods that count and pay exactly: no test statistic to resample.
_COUNTING = frozenset({"rate_card", "aggregate", "share_change"})


def _without_sensitivity(spec: Any) -> Any:
    """The spec as a resample runs it: the parallel-trends sensitivity is not needed."""
    return spec.model_copy(update={"sensitivity": None}) if spec.sensitivity else spec


def _statistic(estimate: Estimate) -> float | None:
    se = estimate.std_error
    if se is None or not (math.isfinite(estimate.estimate) and math.isfinite(se) and se > 0):
        return None
    return estimate.estimate / se


def family_romano_wolf(
    contract: Contract,
    data: TableProvider,
    context: EvaluationContext,
    family: Mapping[str, str],
    estimates: Mapping[str, Estimate],
    *,
    reps: int,
    seed: int,
    alpha: float,
) -> Adjusted:
    """Romano–Wolf adjusted p-values of a family of inputs (input name → evaluation name).

    ``data`` are the tables as the evaluations read them (as of the settlement's day) and
    ``context`` their evaluation context; ``estimates`` are the observed estimates by
    input. Each draw re-runs the family's
    evaluations on the resampled tables and keeps the centred statistics
    ``(b* − b) / se*``; a draw on which an evaluation cannot be computed (one arm empty)
    is skipped, and fewer than half the draws (or 19) surviving is an error.
    """
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]

    from utfall.core.contracts.evaluations import AUXILIARY_OPTIONS
    from utfall.services.evaluation import auxiliary_table, evaluate
    from utfall.services.frames import evaluation_frame

    names = tuple(family)
    evaluation_names = sorted(set(family.values()))
    where = f"{contract.source}: multiple_testing"
    for name in names:
        spec = contract.evaluations[family[name]]
        if spec.method in _COUNTING:
            raise SpecInvalid(
                f"{where}: input {name!r} is decided by evaluation {family[name]!r} "
                f"({spec.method}), which counts rather than tests; romano_wolf cannot "
                "resample it, use holm instead"
            )
        if not contract.data.table(spec.data).per_participant:
            raise SpecInvalid(
                f"{where}: romano_wolf draws participants, but input {name!r} is decided by "
                f"evaluation {family[name]!r} on {spec.data!r}, which has no participants; "
                "use holm instead"
            )
    observed: list[float] = []
    for name in names:
        t = _statistic(estimates[name])
        if t is None:
            raise SpecInvalid(
                f"{where}: input {name!r} is decided by evaluation {family[name]!r}, which "
                "gives no estimate with a standard error (romano_wolf needs both)"
            )
        observed.append(t)

    # Each evaluation's rows are read once, as the contract defines them (participants
    # joined, periods applied); the resamples draw from these rows, and the auxiliary
    # series (price or trend index) come along unchanged.
    rows: dict[str, pa.Table] = {}
    auxiliary: dict[str, dict[str, pa.Table]] = {}
    for e in evaluation_names:
        spec = contract.evaluations[e]
        assert context.declaration is not None
        rows[e] = evaluation_frame(
            spec, data, context.declaration, context.periods, until=context.until
        )
        auxiliary[e] = {
            str(spec.options[key]): auxiliary_table(spec, key, data, context)
            for key in AUXILIARY_OPTIONS
            if spec.options.get(key)
        }
    ids: list[Any] = sorted(
        {v for e in evaluation_names for v in rows[e].column(IDENTITY_COLUMN).to_pylist() if v}
    )
    if len(ids) < 2:
        raise EvaluationError(f"{where}: romano_wolf needs at least two participants")
    code = {value: i for i, value in enumerate(ids)}
    rows_of: dict[str, list[np.ndarray]] = {}
    for e in evaluation_names:
        column = rows[e].column(IDENTITY_COLUMN).to_pylist()
        codes = np.array([code.get(v, -1) for v in column])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(ids) + 1))
        rows_of[e] = [order[bounds[i] : bounds[i + 1]] for i in range(len(ids))]
    plain = EvaluationContext(parameters=context.parameters, until=context.until)
    rng = np.random.default_rng(seed)
    draws: list[list[float]] = []
    for _ in range(reps):
        chosen = rng.integers(0, len(ids), size=len(ids))
        # Slot j's rows carry a new pseudonym, the same in every evaluation.
        slots = [f"{ids[c]}#{j}" for j, c in enumerate(chosen)]
        again: dict[str, Estimate] = {}
        try:
            for e in evaluation_names:
                spec = contract.evaluations[e]
                parts = [rows_of[e][c] for c in chosen]
                take = np.concatenate(parts)
                pseudonyms = np.repeat(slots, [len(p) for p in parts])
                table = rows[e].take(pa.array(take, type=pa.int64()))
                index = table.schema.get_field_index(IDENTITY_COLUMN)
                table = table.set_column(
                    index, IDENTITY_COLUMN, pa.array(pseudonyms.tolist(), type=pa.string())
                )
                provider = ArrowTables(
                    {spec.data: table, **auxiliary[e]}, origin="a Romano–Wolf resample"
                )
                again[e] = evaluate(_without_sensitivity(spec), provider, plain)
        except (EvaluationError, DataInvalid):
            continue
        row: list[float] = []
        for name in names:
            star = again[family[name]]
            if _statistic(star) is None:
                row = []
                break
            row.append((star.estimate - estimates[name].estimate) / float(star.std_error or 1))
        if row:
            draws.append(row)
    if len(draws) < max(19, reps // 2):
        raise EvaluationError(
            f"{where}: romano_wolf: only {len(draws)} of {reps} resamples gave every estimate"
        )
    p_values = tuple(float(estimates[n].p_value) for n in names)  # type: ignore[arg-type]
    return Adjusted(
        method="romano_wolf",
        names=names,
        p_values=p_values,
        adjusted=romano_wolf(observed, draws),
        alpha=alpha,
    )
