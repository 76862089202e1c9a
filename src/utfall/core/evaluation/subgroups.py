"""One estimate per level of a categorical column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation.inference import Inference, draw_seed
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid

__all__ = ["by_subgroup"]

MAX_LEVELS = 50


def by_subgroup(
    estimator: Callable[..., Estimate], frame: pd.DataFrame, column: str, **options: Any
) -> Estimate:
    """The overall estimate with one estimate per level of ``column`` in ``subgroups``.

    Each subgroup estimate is the same estimator, with the same options (and seed),
    on the rows of that level; its ``label`` is the level. Rows with no value in
    ``column`` count in the overall estimate only. A level on which the estimator
    fails raises the estimator's error, prefixed with the level.
    """
    _frame.require_columns(frame, {"subgroup": column})
    inference = options.get("inference")
    if isinstance(inference, Inference) and inference.method != "analytic":
        # One seed for the whole result, so the overall and every level replay together.
        options["inference"] = replace(inference, seed=draw_seed(inference.seed))
    overall = estimator(frame, **options)
    values = frame[column]
    levels = sorted(pd.unique(values.dropna()).tolist(), key=lambda v: (str(type(v)), v))
    if len(levels) > MAX_LEVELS:
        raise SpecInvalid(
            f"subgroup: {column!r} has {len(levels)} distinct values; a subgroup column must be "
            f"categorical (at most {MAX_LEVELS} levels)"
        )
    subgroups = []
    for level in levels:
        part = frame.loc[values == level]
        where = f"subgroup {column} = {level!r}"
        try:
            estimate = estimator(part, **options)
        except DataInvalid as error:
            raise DataInvalid(
                f"{where}: {error.summary}",
                [replace(f, message=f"{where}: {f.message}") for f in error.findings],
            ) from error
        except SpecInvalid as error:
            raise SpecInvalid(f"{where}: {error}") from error
        except EvaluationError as error:
            raise EvaluationError(f"{where}: {error}") from error
        subgroups.append(replace(estimate, label=str(level)))
    missing = int(values.isna().sum())
    notes = overall.notes
    if missing:
        notes = (*notes, f"{missing} rows with no {column} value are in no subgroup")
    return replace(overall, subgroups=tuple(subgroups), notes=notes)
