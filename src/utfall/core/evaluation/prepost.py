"""Individual change on a scale measured at a few points (pre/post)."""

from __future__ import annotations

import datetime
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from statsmodels.regression.mixed_linear_model import MixedLM  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation._assemble import dropped_note, finish
from utfall.core.evaluation.inference import Inference, IntArray, analytic_interval
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = ["MODELS", "pre_post", "reliable_change"]

MODELS = ("paired", "mixed")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def reliable_change(
    changes: FloatArray, *, sd_baseline: float, reliability: float
) -> tuple[FloatArray, float]:
    """Jacobson & Truax (1991) Reliable Change Index of each change score.

    ``RC = (x_post - x_pre) / S_diff`` with ``S_diff = sqrt(2) · SE`` and
    ``SE = sd_baseline · sqrt(1 - reliability)`` (the standard error of measurement).
    Returns the indices and ``S_diff``.
    """
    if not 0 <= reliability < 1:
        raise SpecInvalid(f"reliability: {reliability!r} must be at least 0 and below 1")
    if not sd_baseline > 0:
        raise SpecInvalid("sd_baseline: the baseline standard deviation must be positive")
    s_diff = math.sqrt(2.0) * sd_baseline * math.sqrt(1.0 - reliability)
    return np.asarray(changes, dtype=np.float64) / s_diff, s_diff


def _waves(
    data: pd.DataFrame, time: str, baseline: Any, follow_up: Any
) -> tuple[Any, Any, list[Any]]:
    values = pd.unique(data[time]).tolist()
    # Numbers and dates have an order; labels ("pre", "post") do not.
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating, datetime.date)) for v in values
    )
    if numeric:
        values = sorted(values)
    elif baseline is None or follow_up is None:
        raise SpecInvalid(
            f"the time column {time!r} holds labels ({', '.join(map(repr, values[:5]))}), not "
            "numbers, so their order is unknown: name the baseline and follow_up waves"
        )
    if len(values) < 2:
        raise DataInvalid(
            "only one measurement point",
            [
                Finding(
                    code="too_few_waves",
                    message="pre_post needs at least two measurement points",
                    field_name=time,
                )
            ],
        )
    first = values[0] if baseline is None else baseline
    last = values[-1] if follow_up is None else follow_up
    for name, wave in (("baseline", first), ("follow_up", last)):
        if wave not in values:
            raise SpecInvalid(
                f"{name}: {wave!r} is not a value of {time!r} ({', '.join(map(repr, values))})"
            )
    if first == last:
        raise SpecInvalid("baseline and follow_up must be different waves")
    return first, last, values


def pre_post(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    baseline: Any = None,
    follow_up: Any = None,
    reliability: float | None = None,
    higher_is_better: bool = True,
    sd_baseline: float | None = None,
    rci_critical: float = 1.96,
    model: str = "paired",
    inference: Inference | None = None,
) -> Estimate:
    """Mean individual change from ``baseline`` to ``follow_up`` (long data).

    The headline (``model: paired``) is the mean paired change over units measured at
    both waves, with a t interval (``n - 1`` df). Also reported: Cohen's d for paired
    data as ``d_z`` (mean change / SD of the changes; ``d_av`` divides by the mean of
    the two waves' SDs instead), and a linear mixed model over every wave
    (``outcome ~ wave`` with a random intercept per unit, REML; it uses units with
    missing waves too). ``model: mixed`` makes the mixed model's follow-up-minus-
    baseline contrast the headline (normal interval). With ``reliability`` each
    unit's Reliable Change Index (Jacobson & Truax 1991) is computed and the shares
    with reliable improvement and deterioration reported; ``higher_is_better`` says
    which direction is improvement, ``sd_baseline`` gives a normative SD (default:
    the SD of the paired units' baseline scores).
    """
    inference = inference or Inference()
    if model not in MODELS:
        raise SpecInvalid(f"model: {model!r} is not one of {', '.join(MODELS)}")
    if model == "mixed" and inference.method != "analytic":
        raise SpecInvalid("ci.method: the mixed model is reported with its analytic interval only")
    _frame.require_columns(frame, {"outcome": outcome, "unit": unit, "time": time})
    data, dropped = _frame.complete_rows(frame, [outcome, unit, time])
    y = _frame.numeric(data, outcome, "outcome")
    first, last, waves = _waves(data, time, baseline, follow_up)
    keyed = pd.DataFrame({"unit": data[unit].to_numpy(), "wave": data[time].to_numpy(), "y": y})
    duplicated = keyed.duplicated(["unit", "wave"]).to_numpy()
    if duplicated.any():
        position = int(np.flatnonzero(duplicated)[0])
        raise DataInvalid(
            "a unit is measured twice at one wave",
            [
                Finding(
                    code="duplicate_unit_period",
                    message=f"{unit} {keyed['unit'].iloc[position]!r} has more than one row for "
                    f"{time} {keyed['wave'].iloc[position]!r}",
                    row=_frame._row_number(data, position),
                    field_name=unit,
                )
            ],
        )
    wide = keyed.pivot(index="unit", columns="wave", values="y")
    pairs = wide[[first, last]].dropna()
    n = len(pairs)
    if n < 2:
        raise DataInvalid(
            "too few units measured at both waves",
            [
                Finding(
                    code="group_too_small",
                    message=f"pre_post needs at least 2 units measured at both {first!r} and "
                    f"{last!r}; found {n}",
                    field_name=unit,
                )
            ],
        )
    pre = pairs[first].to_numpy(dtype=np.float64)
    post = pairs[last].to_numpy(dtype=np.float64)
    change = post - pre
    mean_change = float(change.mean())
    sd_change = float(change.std(ddof=1))
    std_error = sd_change / math.sqrt(n)
    notes = dropped_note(dropped, [outcome, unit, time])
    incomplete = int(wide.shape[0] - n)
    if incomplete:
        notes.append(
            f"{incomplete} units lack a {first!r} or {last!r} measurement; the paired "
            "change leaves them out (the mixed model uses them)"
        )
    sd_pre, sd_post = float(pre.std(ddof=1)), float(post.std(ddof=1))
    extras: dict[str, Any] = {
        "baseline": _frame.plain(first),
        "follow_up": _frame.plain(last),
        "waves": [_frame.plain(w) for w in waves],
        "mean_baseline": float(pre.mean()),
        "mean_follow_up": float(post.mean()),
        "sd_change": sd_change,
        "cohens_dz": mean_change / sd_change if sd_change > 0 else None,
        "cohens_dav": mean_change / ((sd_pre + sd_post) / 2) if sd_pre + sd_post > 0 else None,
        "n_units_any_wave": int(wide.shape[0]),
        "wave_means": {str(w): float(wide[w].mean()) for w in waves},
    }
    if reliability is not None:
        sd_ref = float(sd_baseline) if sd_baseline is not None else sd_pre
        index, s_diff = reliable_change(change, sd_baseline=sd_ref, reliability=reliability)
        direction = 1.0 if higher_is_better else -1.0
        improved = int(np.sum(direction * index > rci_critical))
        deteriorated = int(np.sum(direction * index < -rci_critical))
        extras.update(
            rci_reliability=float(reliability),
            rci_sd_baseline=sd_ref,
            rci_s_diff=s_diff,
            rci_min_change=rci_critical * s_diff,
            n_reliably_improved=improved,
            n_reliably_deteriorated=deteriorated,
            n_no_reliable_change=n - improved - deteriorated,
            share_reliably_improved=improved / n,
            share_reliably_deteriorated=deteriorated / n,
        )
    mixed = _mixed_contrast(keyed, first, last, waves, inference.level)
    if isinstance(mixed, str):
        notes.append(mixed)
    else:
        extras.update(mixed)

    if model == "mixed":
        if isinstance(mixed, str):
            raise SpecInvalid(f"model: 'mixed' cannot be used: {mixed}")
        return finish(
            method="pre_post",
            estimate=mixed["mixed_estimate"],
            std_error=mixed["mixed_std_error"],
            df=None,
            inference=inference,
            n_treated=int(wide.shape[0]),
            n_control=None,
            n_obs=len(keyed),
            outcome=outcome,
            estimand=(
                f"mean change {_frame.plain(first)!r} -> {_frame.plain(last)!r} "
                "(mixed model, random intercept)"
            ),
            notes=notes,
            extras=extras,
        )

    def boot_stat(sample: IntArray) -> float:
        return float(change[sample].mean())

    def perm_stat(rng: np.random.Generator) -> tuple[float, float]:
        signs = rng.choice(np.array([-1.0, 1.0]), size=n)
        return float(np.mean(signs * change)), float(np.mean(signs))

    return finish(
        method="pre_post",
        estimate=mean_change,
        std_error=std_error,
        df=float(n - 1),
        inference=inference,
        n_treated=n,
        n_control=None,
        n_obs=2 * n,
        outcome=outcome,
        estimand=f"mean paired change {_frame.plain(first)!r} -> {_frame.plain(last)!r}",
        notes=notes,
        extras=extras,
        bootstrap_statistic=boot_stat,
        bootstrap_strata=[np.arange(n, dtype=np.int64)],
        permutation_statistic=perm_stat,
    )


def _mixed_contrast(
    keyed: pd.DataFrame, first: Any, last: Any, waves: list[Any], level: float
) -> dict[str, Any] | str:
    """Follow-up minus baseline from a random-intercept model over every wave."""
    others = [w for w in waves if w != first]
    design = np.column_stack(
        [np.ones(len(keyed))] + [(keyed["wave"] == w).to_numpy(dtype=np.float64) for w in others]
    )
    groups, count = _frame.factorize(keyed["unit"])
    if count < 3:
        return "too few units for the mixed model"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = MixedLM(keyed["y"].to_numpy(dtype=np.float64), design, groups=groups).fit(
                reml=True
            )
        except (np.linalg.LinAlgError, ValueError) as error:
            return f"the mixed model could not be fitted: {error}"
    position = 1 + others.index(last)
    estimate = float(fit.fe_params[position])
    std_error = float(fit.bse_fe[position])
    low, high, p_value = analytic_interval(estimate, std_error, level, None)
    out: dict[str, Any] = {
        "mixed_estimate": estimate,
        "mixed_std_error": std_error,
        "mixed_ci_low": low,
        "mixed_ci_high": high,
        "mixed_p_value": p_value,
        "mixed_n_units": count,
        "mixed_n_obs": len(keyed),
        "mixed_unit_variance": float(fit.cov_re.iloc[0, 0])
        if hasattr(fit.cov_re, "iloc")
        else float(np.asarray(fit.cov_re)[0, 0]),
        "mixed_residual_variance": float(fit.scale),
        "mixed_converged": bool(fit.converged),
    }
    if caught and not fit.converged:
        out["mixed_warning"] = str(caught[0].message)
    return out
