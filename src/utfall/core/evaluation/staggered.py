"""Staggered adoption: Callaway & Sant'Anna group-time effects and their aggregations.

Units adopt an absorbing treatment in different periods. :func:`staggered_did`
estimates every group-time effect ATT(g, t) — the effect in period ``t`` for the
units first treated in period ``g`` — against never-treated or not-yet-treated
units (Callaway & Sant'Anna 2021), by outcome regression, inverse probability
weighting or the doubly robust combination, and aggregates them (simple, by group,
dynamic in event time, by calendar period). The work is done by ``moderndid``
(decision 0700); this module checks the data, translates the spec and reads the
library's result into an :class:`~utfall.core.evaluation.result.Estimate`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation._assemble import dropped_note
from utfall.core.evaluation.inference import Inference, draw_seed
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, Finding, SpecInvalid

__all__ = [
    "AGGREGATIONS",
    "CONTROL_GROUPS",
    "ESTIMATIONS",
    "staggered_did",
]

CONTROL_GROUPS = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}
ESTIMATIONS = {"regression": "reg", "ipw": "ipw", "doubly_robust": "dr"}
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")
BASE_PERIODS = ("varying", "universal")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class _Panel:
    """The balanced long panel handed to the library, with periods recoded 1..T."""

    frame: pd.DataFrame
    labels: list[Any]  # period position - 1 -> the data's own period value
    n_treated: int
    n_never: int
    notes: list[str]


def _label(value: Any) -> Any:
    """A period as JSON can hold it."""
    value = _frame.plain(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _choice(value: str, allowed: dict[str, str] | Sequence[str], key: str) -> str:
    if value not in allowed:
        raise SpecInvalid(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _groups_from_treatment(
    data: pd.DataFrame, *, unit: str, time: str, treatment: str
) -> pd.Series:
    """Each unit's first treated period from an absorbing 0/1 column (NaN: never)."""
    d = _frame.binary(data, treatment, "treatment")
    frame = pd.DataFrame({"u": data[unit].to_numpy(), "t": data[time].to_numpy(), "d": d})
    frame = frame.sort_values(["u", "t"], kind="stable")
    # A treatment that switches off again is not staggered adoption.
    drops = frame.groupby("u", sort=False)["d"].diff() < 0
    if bool(drops.any()):
        position = int(np.flatnonzero(drops.to_numpy())[0])
        label = frame["u"].iloc[position]
        raise DataInvalid(
            "the treatment is not absorbing",
            [
                Finding(
                    code="treatment_not_absorbing",
                    message=f"{unit} {_label(label)!r} is treated and then untreated again "
                    f"(at {time} {_label(frame['t'].iloc[position])!r}); staggered_did needs "
                    "a treatment that stays on once it starts",
                    field_name=treatment,
                )
            ],
        )
    first = frame[frame["d"] == 1].groupby("u", sort=False)["t"].min()
    return data[unit].map(first)


def _panel(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    group: str | None,
    treatment: str | None,
    covariates: list[str],
    allow_unbalanced: bool,
) -> _Panel:
    if (group is None) == (treatment is None):
        raise SpecInvalid(
            "group: staggered_did needs either 'group' (the column of each unit's first "
            "treated period, 0 or empty for never treated) or 'treatment' (an absorbing 0/1 "
            "column), not both"
            if group is not None
            else "group: staggered_did needs 'group' (the column of each unit's first treated "
            "period, 0 or empty for never treated) or 'treatment' (an absorbing 0/1 column)"
        )
    roles: dict[str, str | None] = {"outcome": outcome, "unit": unit, "time": time}
    roles["group" if group is not None else "treatment"] = str(group or treatment)
    _frame.require_columns(frame, roles)
    cov_vars = _frame.covariate_variables(covariates)
    _frame.require_columns(frame, {f"covariate {c}": c for c in cov_vars})
    needed = [outcome, unit, time, *cov_vars, *([treatment] if treatment else [])]
    data, dropped = _frame.complete_rows(frame, needed)
    notes = dropped_note(dropped, needed)
    y = _frame.numeric(data, outcome, "outcome")
    if data.duplicated([unit, time]).any():
        position = int(np.flatnonzero(data.duplicated([unit, time]).to_numpy())[0])
        raise DataInvalid(
            "a unit appears twice in one period",
            [
                Finding(
                    code="duplicate_unit_period",
                    message=f"{unit} {_label(data[unit].iloc[position])!r} has more than one "
                    f"row for {time} {_label(data[time].iloc[position])!r}",
                    row=_frame._row_number(data, position),
                    field_name=unit,
                )
            ],
        )
    periods = sorted(pd.unique(data[time]).tolist())
    if len(periods) < 2:
        raise EvaluationError("staggered_did needs at least two periods")
    rank = {value: index + 1 for index, value in enumerate(periods)}
    if treatment is not None:
        first = _groups_from_treatment(data, unit=unit, time=time, treatment=treatment)
    else:
        assert group is not None
        raw = data[group]
        # 0 or empty marks the never treated, as in the did package.
        never = raw.isna() | raw.astype(str).isin(["0", "0.0", ""])
        first = raw.where(~never)
        if data.groupby(unit)[group].nunique(dropna=False).max() > 1:
            changing = data.groupby(unit)[group].nunique(dropna=False)
            label = changing[changing > 1].index[0]
            raise DataInvalid(
                "a unit's group changes over time",
                [
                    Finding(
                        code="group_not_constant",
                        message=f"{unit} {_label(label)!r} has more than one value of "
                        f"{group}; the group is the unit's first treated period",
                        field_name=group,
                    )
                ],
            )
    # A group is a period position: the first observed period at or after the start.
    codes = np.zeros(len(data), dtype=np.int64)
    values = first.to_numpy()
    late = 0
    for index, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
            continue
        try:
            at = next((rank[p] for p in periods if p >= value), None)
        except TypeError:
            raise DataInvalid(
                "the group is not a period",
                [
                    Finding(
                        code="group_not_a_period",
                        message=f"{group} {_label(value)!r} cannot be compared with the "
                        f"periods of {time}",
                        row=_frame._row_number(data, index),
                        field_name=group,
                    )
                ],
            ) from None
        if at is None:
            late += 1
            continue
        codes[index] = at
    panel = pd.DataFrame(
        {
            "y": y,
            "id": _frame.factorize(data[unit])[0] + 1,
            "t": data[time].map(rank).to_numpy(dtype=np.int64),
            "g": codes,
        }
    )
    for index, column in enumerate(cov_vars):
        panel[f"x{index}"] = _frame.numeric(data, column, f"covariate {column}")
    if late:
        notes.append(
            "units first treated after the last period count as never treated in these data"
        )
    always = panel.loc[panel["g"] == 1, "id"].nunique()
    if always:
        notes.append(
            f"{always} units treated from the first period on are left out: nothing "
            "before their start identifies their trend"
        )
        panel = panel[panel["g"] != 1]
    units = panel.groupby("id")["g"].first()
    n_treated, n_never = int((units > 0).sum()), int((units == 0).sum())
    if n_treated == 0:
        raise EvaluationError("staggered_did found no unit that starts treatment in the data")
    counts = panel.groupby("id")["t"].size()
    if not allow_unbalanced and bool((counts < len(periods)).any()):
        notes.append(
            f"{int((counts < len(periods)).sum())} units not observed in every period are "
            "left out (balanced panel; set allow_unbalanced: true to keep them)"
        )
    return _Panel(panel, [_label(p) for p in periods], n_treated, n_never, notes)


def _normal_interval(
    estimate: float, std_error: float | None, critical: float
) -> tuple[float | None, float | None]:
    if std_error is None or not math.isfinite(std_error):
        return None, None
    return estimate - critical * std_error, estimate + critical * std_error


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _library() -> Any:
    """moderndid, imported only when a spec runs (decision 0700)."""
    import moderndid  # type: ignore[import-untyped]

    return moderndid


def _aggregate(
    result: Any, kind: str, *, boot: bool, reps: int, seed: int, alpha: float, bands: bool
) -> Any:
    return _library().aggte(
        result,
        type=kind,
        boot=boot,
        biters=reps,
        cband=bands,
        alp=alpha,
        random_state=seed,
        na_rm=True,
    )


def _effects(aggregated: Any, labels: list[Any] | None, critical: float) -> list[dict[str, Any]]:
    """The aggregation's effects per level (event time, group or period)."""
    levels = aggregated.event_times
    if levels is None:
        return []
    out = []
    for level, att, se in zip(
        np.asarray(levels),
        np.asarray(aggregated.att_by_event),
        np.asarray(aggregated.se_by_event),
        strict=True,
    ):
        estimate = float(att)
        std_error = _number(se)
        low, high = _normal_interval(estimate, std_error, critical)
        key = int(level) if labels is None else labels[int(level) - 1]
        out.append(
            {
                "level": key,
                "estimate": estimate,
                "std_error": std_error,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return out


def _band_critical(aggregated: Any, level: float, bands: bool) -> float:
    pointwise = float(stats.norm.ppf(0.5 + level / 2))
    values = aggregated.critical_values
    if not bands or values is None:
        return pointwise
    first = float(np.asarray(values).ravel()[0])
    return first if math.isfinite(first) else pointwise


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _event_pre_test(
    event_study: list[dict[str, Any]], vcov: FloatArray, reference: int | None
) -> dict[str, Any] | None:
    """The Wald test that the event study's pre-treatment coefficients are all zero."""
    rows = [row for row in event_study if row["relative_period"] != reference]
    pre = [i for i, row in enumerate(rows) if row["relative_period"] < 0]
    if not pre:
        return None
    b = np.array([rows[i]["estimate"] for i in pre], dtype=np.float64)
    v = vcov[np.ix_(pre, pre)]
    rank = int(np.linalg.matrix_rank(v))
    if rank == 0:
        return None
    statistic = float(b @ np.linalg.pinv(v) @ b)
    return {
        "statistic": statistic,
        "df": rank,
        "p_value": float(stats.chi2.sf(statistic, rank)),
        "basis": "event_study",
    }


def staggered_did(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    group: str | None = None,
    treatment: str | None = None,
    covariates: Sequence[str] = (),
    control_group: str = "never_treated",
    estimation: str = "regression",
    aggregation: str = "group",
    anticipation: int = 0,
    base_period: str = "varying",
    uniform_bands: bool = True,
    allow_unbalanced: bool = False,
    inference: Inference | None = None,
) -> Estimate:
    """Callaway & Sant'Anna (2021) difference-in-differences under staggered adoption.

    ``group`` holds each unit's first treated period (0 or empty: never treated), or
    ``treatment`` an absorbing 0/1 indicator from which it is derived. Every ATT(g, t)
    is a 2×2 comparison of the change since period ``g - 1 - anticipation`` (the
    ``varying`` base period for pre-periods compares consecutive periods) between
    group ``g`` and the ``control_group``: ``never_treated`` or ``not_yet_treated``
    (units not treated by ``t + anticipation``), by ``estimation`` ``regression``,
    ``ipw`` or ``doubly_robust``; ``covariates`` enter at the base period's values.

    The estimate is the ``aggregation``'s overall figure: ``simple`` (all post-treatment
    ATT(g, t) weighted by group size), ``group`` (the average of each group's mean
    effect), ``dynamic`` (the average over event times ``e >= 0``) or ``calendar``
    (the average over periods). Standard errors come from the influence functions
    (analytic) or the multiplier bootstrap (``ci.method: bootstrap``, ``ci.reps``
    draws clustered on units); its interval is pointwise normal. Effects per event
    time, group or period carry uniform (simultaneous) bands from the multiplier
    bootstrap when ``uniform_bands`` is true. ``extras`` holds ``group_time`` (every
    ATT(g, t)), ``effects`` (the aggregation's levels), the dynamic ``event_study``
    with its covariance, and the Wald ``pre_trend_test`` that every pre-treatment
    ATT(g, t) is zero.
    """
    inference = inference or Inference()
    _choice(control_group, CONTROL_GROUPS, "control_group")
    _choice(estimation, ESTIMATIONS, "estimation")
    _choice(aggregation, AGGREGATIONS, "aggregation")
    _choice(base_period, BASE_PERIODS, "base_period")
    if anticipation < 0:
        raise SpecInvalid(f"anticipation: {anticipation} must be 0 or more periods")
    if inference.method not in ("analytic", "bootstrap"):
        raise SpecInvalid(
            f"ci.method: {inference.method!r} is not available for staggered_did; use "
            "analytic (influence functions) or bootstrap (the multiplier bootstrap)"
        )
    covariates = list(covariates)
    panel = _panel(
        frame,
        outcome=outcome,
        unit=unit,
        time=time,
        group=group,
        treatment=treatment,
        covariates=covariates,
        allow_unbalanced=allow_unbalanced,
    )
    notes = list(panel.notes)
    if control_group == "never_treated" and panel.n_never == 0:
        raise EvaluationError(
            "control_group: no unit is never treated; use control_group: not_yet_treated"
        )
    seed = draw_seed(inference.seed)
    boot = inference.method == "bootstrap"
    alpha = 1 - inference.level
    xformula = (
        "~ " + " + ".join(f"x{i}" for i in range(len(_frame.covariate_variables(covariates))))
        if covariates
        else None
    )
    import polars as pl

    data = pl.from_pandas(panel.frame.reset_index(drop=True))
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            result = _library().att_gt(
                data,
                yname="y",
                tname="t",
                idname="id",
                gname="g",
                xformla=xformula,
                alp=alpha,
                cband=uniform_bands,
                boot=boot,
                biters=inference.reps,
                est_method=ESTIMATIONS[estimation],
                panel=True,
                allow_unbalanced_panel=allow_unbalanced,
                control_group=CONTROL_GROUPS[control_group],
                anticipation=anticipation,
                base_period=base_period,
                random_state=seed,
            )
            chosen = _aggregate(
                result,
                aggregation,
                boot=boot,
                reps=inference.reps,
                seed=seed,
                alpha=alpha,
                bands=uniform_bands,
            )
            dynamic = (
                chosen
                if aggregation == "dynamic"
                else _aggregate(
                    result,
                    "dynamic",
                    boot=boot,
                    reps=inference.reps,
                    seed=seed,
                    alpha=alpha,
                    bands=uniform_bands,
                )
            )
        caught = [str(w.message) for w in recorded]
    except (ValueError, np.linalg.LinAlgError) as error:
        raise EvaluationError(
            f"staggered_did could not estimate the group-time effects: {error}"
        ) from error
    for message in dict.fromkeys(caught):
        if "simultaneous confidence band" in message or "pre-test Wald" in message:
            continue  # said below, in the result's own terms
        if "small groups" in message and "Check groups:" in message:
            codes = message.split("Check groups:", 1)[1].replace(",", " ").split()
            positions = sorted({int(float(c)) for c in codes if _is_number(c)})
            small = [str(panel.labels[c - 1]) for c in positions]
            notes.append(
                "some groups have few units, so their effects are imprecise: " + ", ".join(small)
            )
            continue
        notes.append(f"moderndid: {message}")

    estimate = float(chosen.overall_att)
    std_error = _number(chosen.overall_se)
    pointwise = float(stats.norm.ppf(0.5 + inference.level / 2))
    low, high = _normal_interval(estimate, std_error, pointwise)
    p_value = (
        float(2 * stats.norm.sf(abs(estimate / std_error)))
        if std_error is not None and std_error > 0
        else None
    )

    labels = panel.labels
    groups = np.asarray(result.groups)
    times = np.asarray(result.times)
    atts = np.asarray(result.att_gt)
    ses = np.asarray(result.se_gt)
    group_time = [
        {
            "group": labels[int(g) - 1],
            "time": labels[int(t) - 1],
            "relative_period": int(t) - int(g),
            "estimate": float(a),
            "std_error": _number(s),
        }
        for g, t, a, s in zip(groups, times, atts, ses, strict=True)
    ]

    event_critical = _band_critical(dynamic, inference.level, uniform_bands)
    event_study = [
        {
            "relative_period": int(row["level"]),
            "estimate": row["estimate"],
            "std_error": row["std_error"],
            "ci_low": row["ci_low"],
            "ci_high": row["ci_high"],
        }
        for row in _effects(dynamic, None, event_critical)
    ]
    reference = -1 - anticipation if base_period == "universal" else None
    influence = np.asarray(dynamic.influence_func, dtype=np.float64)
    n_units = int(result.n_units)
    vcov = influence.T @ influence / n_units**2
    if reference is not None:
        keep = [i for i, row in enumerate(event_study) if row["relative_period"] != reference]
        vcov = vcov[np.ix_(keep, keep)]
        for row in event_study:
            if row["relative_period"] == reference:
                row.update(estimate=0.0, std_error=None, ci_low=None, ci_high=None)
    event_study.sort(key=lambda row: int(row["relative_period"]))

    extras: dict[str, Any] = {
        "aggregation": aggregation,
        "control_group": control_group,
        "estimation": estimation,
        "anticipation": anticipation,
        "base_period": base_period,
        "group_time": group_time,
        "event_study": event_study,
        "event_study_reference": reference,
        "event_study_vcov": vcov.tolist(),
        "event_study_band": "uniform" if uniform_bands else "pointwise",
        "event_study_critical_value": event_critical,
        "n_groups": len({row["group"] for row in group_time}),
        "n_periods": len(labels),
        "n_units": n_units,
    }
    if aggregation != "simple":
        level_labels = labels if aggregation in ("group", "calendar") else None
        extras["effects"] = _effects(
            chosen, level_labels, _band_critical(chosen, inference.level, uniform_bands)
        )
    pre = [i for i, t in enumerate(times) if t < groups[i] - anticipation]
    wald = _number(result.wald_stat)
    if wald is not None and result.wald_pvalue is not None:
        extras["pre_trend_test"] = {
            "statistic": wald,
            "df": len(pre),
            "p_value": float(result.wald_pvalue),
            "basis": "group_time",
        }
    else:
        test = _event_pre_test(event_study, vcov, reference)
        if test is not None:
            extras["pre_trend_test"] = test
            notes.append(
                "the pre-trend test of every pre-treatment ATT(g,t) is not computable (their "
                "covariance is singular: more cells than units); the test is of the event "
                "study's pre-treatment coefficients jointly"
            )
        else:
            notes.append("no pre-treatment effect to test parallel trends on")
    if boot:
        notes.append(
            f"multiplier bootstrap with {inference.reps} draws clustered on {unit} (seed {seed})"
        )
    if uniform_bands:
        notes.append(
            "event-study intervals are uniform (simultaneous) bands from the multiplier "
            f"bootstrap (seed {seed})"
        )
    return Estimate(
        method="staggered_did",
        estimate=estimate,
        std_error=std_error,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_treated=panel.n_treated,
        n_control=panel.n_never,
        n_obs=len(panel.frame),
        ci_method="bootstrap-multiplier" if boot else "analytic",
        level=inference.level,
        seed=seed if (boot or uniform_bands) else inference.seed,
        outcome=outcome,
        estimand=f"ATT ({aggregation} aggregation of ATT(g,t))",
        notes=tuple(notes),
        extras=extras,
    )
