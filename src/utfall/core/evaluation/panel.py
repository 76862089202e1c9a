"""Difference-in-differences: the 2×2 regression and two-way fixed effects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from statsmodels.regression.linear_model import OLS  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame, few_treated
from utfall.core.evaluation import event_study as _event_study
from utfall.core.evaluation._assemble import dropped_note, finish
from utfall.core.evaluation.inference import Inference, IntArray, draw_seed, shuffle_units
from utfall.core.evaluation.means import require_clusters
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, Finding, SpecInvalid

__all__ = ["cr1_covariance", "did", "twfe"]

REGRESSION_SE = ("hc2", "hc1", "hc3", "classical")
TWFE_SE = ("cluster", "classical")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _coefficients(design: FloatArray, targets: FloatArray) -> FloatArray:
    """Least-squares coefficients for one or more outcome columns."""
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return np.asarray(solution, dtype=np.float64)


def cr1_covariance(
    design: FloatArray, residuals: FloatArray, groups: IntArray, *, n_params: int
) -> FloatArray:
    """CR1 cluster-robust covariance: ``G/(G-1) · (N-1)/(N-K)`` times the sandwich."""
    n_obs = design.shape[0]
    count = int(groups.max()) + 1
    bread = np.linalg.pinv(design.T @ design)
    scores = np.zeros((count, design.shape[1]))
    np.add.at(scores, groups, design * residuals[:, None])
    meat = scores.T @ scores
    n_groups = int(np.sum(np.bincount(groups, minlength=count) > 0))
    factor = n_groups / (n_groups - 1) * (n_obs - 1) / (n_obs - n_params)
    return np.asarray(factor * bread @ meat @ bread, dtype=np.float64)


def _fit(y: FloatArray, design: FloatArray, se: str, groups: IntArray | None) -> Any:
    model = OLS(y, design)
    if groups is not None:
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    if se == "classical":
        return model.fit()
    return model.fit(cov_type=se.upper(), use_t=True)


def did(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    post: str,
    unit: str | None = None,
    covariates: Sequence[str] = (),
    se: str = "hc2",
    inference: Inference | None = None,
) -> Estimate:
    """2×2 difference-in-differences as the regression ``y ~ D + post + D·post (+ X)``.

    ``treatment`` marks the treated group (0/1, constant within a unit) and ``post``
    the period after the start (0/1). The estimate is the coefficient on ``D·post``.
    With ``unit`` (panel data) the standard error is CR1 clustered by unit with
    ``G - 1`` df; without it (repeated cross-sections) it is ``se`` (``hc2`` by
    default, or ``hc1``, ``hc3``, ``classical``) with ``N - K`` df.
    """
    inference = inference or Inference()
    if se not in REGRESSION_SE:
        raise SpecInvalid(f"se: {se!r} is not one of {', '.join(REGRESSION_SE)}")
    covariates = list(covariates)
    _frame.require_columns(
        frame, {"outcome": outcome, "treatment": treatment, "post": post, "unit": unit}
    )
    needed = [outcome, treatment, post, unit, *_frame.covariate_variables(covariates)]
    _frame.require_columns(frame, {f"covariate {c}": c for c in needed[4:]})
    data, dropped = _frame.complete_rows(frame, needed)
    y = _frame.numeric(data, outcome, "outcome")
    g = _frame.binary(data, treatment, "treatment")
    p = _frame.binary(data, post, "post")
    _frame.require_both_groups(g, treatment)
    _frame.require_both_groups(p, post)
    for gv in (0.0, 1.0):
        for pv in (0.0, 1.0):
            if not np.any((g == gv) & (p == pv)):
                raise DataInvalid(
                    "a cell of the 2×2 design is empty",
                    [
                        Finding(
                            code="empty_group",
                            message=f"no rows with {treatment} = {gv:.0f} and {post} = {pv:.0f}",
                            field_name=post,
                        )
                    ],
                )
    x_cov, cov_names = _frame.covariate_matrix(data, covariates)
    notes = dropped_note(dropped, needed)

    def design_for(group: FloatArray, rows: IntArray | slice = slice(None)) -> FloatArray:
        pr = p[rows]
        return np.column_stack([np.ones_like(pr), group, pr, group * pr, x_cov[rows]])

    design = design_for(g)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise DataInvalid(
            "the did design is collinear",
            [
                Finding(
                    code="collinear_covariates",
                    message="a covariate duplicates the group, the period or another covariate: "
                    + (", ".join(cov_names) or "none"),
                )
            ],
        )
    extras: dict[str, Any] = {"covariates": cov_names}
    if unit is not None:
        codes, count = _frame.factorize(data[unit])
        _frame.constant_within(data, g, codes, treatment, "unit")
        units = _frame.UnitIndex(codes, count)
        unit_g = units.first(g)
        notes += require_clusters([{float(v)} for v in unit_g], unit)
        fit = _fit(y, design, se, codes)
        df: float = float(count - 1)
        n_treated, n_control = int(np.sum(unit_g == 1)), int(np.sum(unit_g == 0))
        extras.update(n_clusters=count, se="cr1")
        strata = [np.flatnonzero(unit_g == 1), np.flatnonzero(unit_g == 0)]
    else:
        codes = np.arange(len(y), dtype=np.int64)
        units = _frame.UnitIndex(codes, len(y))
        fit = _fit(y, design, se, None)
        df = float(fit.df_resid)
        n_treated, n_control = int(np.sum(g == 1)), int(np.sum(g == 0))
        extras["se"] = se
        cell = (2 * g + p).astype(np.int64)
        strata = [np.flatnonzero(cell == c) for c in range(4)]
    estimate = float(fit.params[3])
    std_error = float(fit.bse[3])
    extras["cell_means"] = {
        f"{treatment}={gv:.0f},{post}={pv:.0f}": float(y[(g == gv) & (p == pv)].mean())
        for gv in (0.0, 1.0)
        for pv in (0.0, 1.0)
    }

    def boot_stat(sample: IntArray) -> float:
        rows, _ = units.expand(sample)
        return float(_coefficients(design_for(g[rows], rows), y[rows])[3])

    perm_stat = None
    if unit is not None:
        effect_cells = g * p
        targets = np.column_stack([y, effect_cells])

        def perm_stat(rng: np.random.Generator) -> tuple[float, float]:
            drawn = shuffle_units(rng, unit_g)[codes]
            coefficients = _coefficients(design_for(drawn), targets)
            return float(coefficients[3, 0]), float(coefficients[3, 1])

    elif inference.method == "permutation":
        raise SpecInvalid(
            "ci.method: 'permutation' for did needs a unit column (panel data): in repeated "
            "cross-sections the group labels of rows are not exchangeable"
        )

    return finish(
        method="did",
        estimate=estimate,
        std_error=std_error,
        df=df,
        inference=inference,
        n_treated=n_treated,
        n_control=n_control,
        n_obs=len(y),
        outcome=outcome,
        estimand="difference-in-differences (ATT under parallel trends)",
        notes=notes,
        extras=extras,
        bootstrap_statistic=boot_stat,
        bootstrap_strata=strata,
        permutation_statistic=perm_stat,
    )


def _demean(values: FloatArray, codes: IntArray, count: int) -> FloatArray:
    """Subtract each unit's mean from every column (the within transformation)."""
    values = np.asarray(values, dtype=np.float64)
    two_d = values.reshape(len(codes), -1)
    sizes = np.bincount(codes, minlength=count).astype(np.float64)
    sums = np.stack(
        [np.bincount(codes, weights=two_d[:, j], minlength=count) for j in range(two_d.shape[1])],
        axis=1,
    )
    out = two_d - (sums / sizes[:, None])[codes]
    return out.reshape(values.shape)


def _within_two_way(
    values: FloatArray,
    unit_codes: IntArray,
    n_units: int,
    time_codes: IntArray,
    n_times: int,
    *,
    tol: float = 1e-13,
    max_iter: int = 10_000,
) -> FloatArray:
    """Columns with unit and period effects swept out (alternating projections).

    Subtracting unit means and period means in turn converges to the residuals of a
    regression on both sets of dummies (von Neumann-Halperin; the method of
    ``reghdfe`` and ``pyfixest``); on a balanced panel one round is exact.
    """
    out = _demean(values, unit_codes, n_units)
    scale = max(float(np.max(np.abs(out))) if out.size else 0.0, 1.0)
    for _ in range(max_iter):
        out = _demean(out, time_codes, n_times)
        out = _demean(out, unit_codes, n_units)
        drift = _demean(out, time_codes, n_times) - out
        if float(np.max(np.abs(drift))) <= tol * scale:
            return out
    raise EvaluationError(
        f"twfe: sweeping out the unit and period effects did not converge in {max_iter} "
        "rounds (a nearly disconnected panel?)"
    )


def _sweeper(
    unit_codes: IntArray, n_units: int, time_codes: IntArray, n_times: int, x_swept: FloatArray
) -> _event_study.Sweep:
    """Sweeps the unit and period effects, then the (already swept) covariates ``x_swept``,
    out of a block of columns (Frisch-Waugh-Lovell)."""

    def sweep(columns: FloatArray) -> FloatArray:
        out = _within_two_way(columns, unit_codes, n_units, time_codes, n_times)
        if x_swept.shape[1]:
            out = out - x_swept @ _coefficients(x_swept, out)
        return out

    return sweep


def _adoption(
    d: FloatArray, unit_codes: IntArray, time_codes: IntArray, count: int, times: list[Any]
) -> tuple[dict[Any, int], list[int], int]:
    """Cohorts by first treated period, units whose treatment switches off, never-treated.

    Vectorised (no loop over units): a unit's first treated period is the smallest
    period code with ``d == 1``; it reverses when a later period has ``d == 0``.
    """
    n_times = len(times)
    first = np.full(count, n_times, dtype=np.int64)
    treated_rows = np.flatnonzero(d == 1)
    np.minimum.at(first, unit_codes[treated_rows], time_codes[treated_rows])
    ever = first < n_times
    later_off = (d == 0) & ever[unit_codes] & (time_codes > first[unit_codes])
    reversals = np.unique(unit_codes[later_off]).tolist()
    starts, sizes = np.unique(first[ever], return_counts=True)
    cohorts = {times[int(t)]: int(n) for t, n in zip(starts, sizes, strict=True)}
    return cohorts, [int(u) for u in reversals], count - int(ever.sum())


def twfe(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    unit: str,
    time: str,
    covariates: Sequence[str] = (),
    allow_staggered: bool = False,
    se: str = "cluster",
    inference: Inference | None = None,
    event_study: bool = False,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
) -> Estimate:
    """Two-way fixed effects: ``y_it = a_i + l_t + tau·D_it (+ X_it b) + e_it``.

    ``treatment`` is the unit-by-period 0/1 indicator. The estimate is ``tau``, by
    the within transformation over units with period dummies (exact for unbalanced
    panels). Standard errors are CR1 clustered by unit with ``G - 1`` df; the unit
    effects, nested in the clusters, are not counted in K (as Stata's ``xtreg, fe``
    and pyfixest). ``se: classical`` gives the textbook iid standard error with
    ``N - G - K`` df.

    When units start treatment in different periods (staggered adoption) or stop it,
    the TWFE coefficient is a weighted average of 2×2 comparisons in which
    already-treated units serve as controls, and some weights can be negative when
    effects vary over time or across cohorts (Goodman-Bacon 2021; de Chaisemartin &
    D'Haultfœuille 2020). Such data are refused unless ``allow_staggered`` is true.

    ``event_study`` adds one coefficient per period relative to adoption (window
    ``leads``/``lags``, ``reference`` omitted), see
    :mod:`~utfall.core.evaluation.event_study`. With one or a few treated units,
    ``ci.method: randomisation`` or ``wild_bootstrap`` give valid inference, see
    :mod:`~utfall.core.evaluation.few_treated`.
    """
    inference = inference or Inference()
    if se not in TWFE_SE:
        raise SpecInvalid(f"se: {se!r} is not one of {', '.join(TWFE_SE)}")
    covariates = list(covariates)
    _frame.require_columns(
        frame, {"outcome": outcome, "treatment": treatment, "unit": unit, "time": time}
    )
    cov_vars = _frame.covariate_variables(covariates)
    _frame.require_columns(frame, {f"covariate {c}": c for c in cov_vars})
    needed = [outcome, treatment, unit, time, *cov_vars]
    data, dropped = _frame.complete_rows(frame, needed)
    y = _frame.numeric(data, outcome, "outcome")
    d = _frame.binary(data, treatment, "treatment")
    _frame.require_both_groups(d, treatment, what="unit-periods")
    unit_codes, n_units = _frame.factorize(data[unit])
    time_codes, n_times = _frame.factorize(data[time])
    times = sorted(pd.unique(data[time]).tolist())
    pairs = unit_codes * n_times + time_codes
    ordered = np.sort(pairs)
    if np.any(ordered[1:] == ordered[:-1]):
        position = int(np.flatnonzero(pd.Series(pairs).duplicated().to_numpy())[0])
        raise DataInvalid(
            "a unit appears twice in one period",
            [
                Finding(
                    code="duplicate_unit_period",
                    message=f"{unit} {data[unit].iloc[position]!r} has more than one row for "
                    f"{time} {data[time].iloc[position]!r}",
                    row=_frame._row_number(data, position),
                    field_name=unit,
                )
            ],
        )
    notes = dropped_note(dropped, needed)
    cohorts, reversals, never = _adoption(d, unit_codes, time_codes, n_units, times)
    staggered = len(cohorts) > 1 or bool(reversals)
    if staggered and not allow_staggered:
        starts = ", ".join(f"{k} ({v} units)" for k, v in cohorts.items())
        why = (
            "units start treatment in different periods: " + starts
            if len(cohorts) > 1
            else f"the treatment switches off again in {len(reversals)} units"
        )
        raise SpecInvalid(
            f"twfe refuses staggered adoption: {why}. With effects that differ across "
            "cohorts or over time, the TWFE coefficient is a weighted average of 2x2 "
            "comparisons that uses already-treated units as controls, with weights that "
            "can be negative (Goodman-Bacon 2021; de Chaisemartin & D'Haultfoeuille 2020). "
            "Set allow_staggered: true to proceed anyway, or estimate each cohort separately"
        )
    if staggered:
        notes.append(
            "staggered adoption allowed: the estimate is a variance-weighted average of 2x2 "
            "comparisons, some of which may carry negative weight (Goodman-Bacon 2021)"
        )

    x_cov, cov_names = _frame.covariate_matrix(data, covariates)
    absorbed = [
        name
        for j, name in enumerate(cov_names)
        if np.allclose(_demean(x_cov[:, j], unit_codes, n_units), 0.0, atol=1e-12)
    ]
    if absorbed:
        # A covariate constant within every unit is absorbed by the unit effects; keeping
        # it would only inflate K.
        keep = [j for j, name in enumerate(cov_names) if name not in absorbed]
        x_cov, cov_names = x_cov[:, keep], [cov_names[j] for j in keep]
        notes.append(
            "absorbed by the unit effects (constant within each unit): " + ", ".join(absorbed)
        )
    d_dm = _demean(d, unit_codes, n_units)
    # Frisch-Waugh-Lovell: sweep the unit and period effects out of the treatment, the
    # outcome and the covariates (alternating projections), then the covariates out of
    # the treatment and the outcome; tau is the slope of the one residual on the other.
    # The residuals and the [0, 0] element of the (CR1 or classical) covariance are
    # exactly those of the full dummy regression: the first row of (X'X)^-1 X' is
    # r_d' / r_d'r_d.
    swept = _within_two_way(
        np.column_stack([d, y, x_cov]), unit_codes, n_units, time_codes, n_times
    )
    residual_d, residual_y = swept[:, 0], swept[:, 1]
    if x_cov.shape[1]:
        x_2w = swept[:, 2:]
        partial = _coefficients(x_2w, swept[:, :2])
        residual_d = residual_d - x_2w @ partial[:, 0]
        residual_y = residual_y - x_2w @ partial[:, 1]
    d_norm = float(residual_d @ residual_d)
    if d_norm <= 1e-10 * max(float(d_dm @ d_dm), 1e-300):
        raise DataInvalid(
            "the treatment does not vary once unit and period effects are removed",
            [
                Finding(
                    code="no_variation",
                    message=(
                        "twfe needs units whose treatment changes over time and a comparison "
                        "whose treatment does not change at the same time"
                    ),
                    field_name=treatment,
                )
            ],
        )
    estimate = float(residual_d @ residual_y) / d_norm
    residuals = residual_y - estimate * residual_d
    # The slopes and the period effects (n_times - 1 once the intercept is counted).
    n_params = x_cov.shape[1] + n_times - 1 + 1
    units = _frame.UnitIndex(unit_codes, n_units)
    if se == "cluster":
        with_treated = np.bincount(unit_codes, weights=d == 1, minlength=n_units) > 0
        with_control = np.bincount(unit_codes, weights=d == 0, minlength=n_units) > 0
        kinds: list[set[float]] = [set(), {1.0}, {0.0}, {0.0, 1.0}]
        arms = [kinds[k] for k in (with_treated + 2 * with_control).tolist()]
        n_treated_clusters = int(np.sum(with_treated))
        if inference.method in ("randomisation", "permutation"):
            pass  # valid for any number of treated units: no cluster count needed
        elif inference.method == "wild_bootstrap":
            if n_treated_clusters < few_treated.MIN_TREATED_WILD:
                raise few_treated.one_treated_refusal(unit, n_treated_clusters, n_units)
        elif n_treated_clusters == 1:
            raise few_treated.one_treated_refusal(unit, n_treated_clusters, n_units)
        else:
            notes += require_clusters(arms, unit)
        # K counts the slopes, the period dummies and the intercept that the unit effects
        # absorb; the unit effects themselves are nested in the clusters and not counted
        # (Stata xtreg, fe and pyfixest's default), see docs/decisions/0101.
        scores = np.bincount(unit_codes, weights=residual_d * residuals, minlength=n_units)
        n_obs = len(y)
        factor = n_units / (n_units - 1) * (n_obs - 1) / (n_obs - (n_params + 1))
        std_error = float(np.sqrt(factor * float(scores @ scores))) / d_norm
        df = float(n_units - 1)
    else:
        df = float(len(y) - n_units - n_params)
        if df <= 0:
            raise EvaluationError("twfe: no residual degrees of freedom left")
        sigma2 = float(residuals @ residuals) / df
        std_error = float(np.sqrt(sigma2 / d_norm))

    first_period = np.full(n_units, n_times, dtype=np.int64)
    treated_rows = np.flatnonzero(d == 1)
    np.minimum.at(first_period, unit_codes[treated_rows], time_codes[treated_rows])
    first_period[first_period == n_times] = -1
    strata = [np.flatnonzero(first_period == c) for c in np.unique(first_period)]

    sweep = _sweeper(unit_codes, n_units, time_codes, n_times, swept[:, 2:])

    few: few_treated.FewTreatedResult | None = None
    if inference.method in ("randomisation", "wild_bootstrap") and se != "cluster":
        raise SpecInvalid(f"ci.method: {inference.method!r} for twfe needs se: cluster")
    paths: FloatArray | None = None
    if inference.method == "randomisation":
        if len(y) != n_units * n_times:
            raise SpecInvalid(
                "ci.method: 'randomisation' for twfe needs a balanced panel (every unit in "
                "every period), so that whole treatment paths can be given to other units"
            )
        paths = np.zeros((n_units, n_times))
        paths[unit_codes, time_codes] = d
        orders, exact, rseed = few_treated.randomisation_assignments(paths, inference)
        pairs_ab = []
        for order in orders:
            drawn = paths[order][unit_codes, time_codes]
            drawn_swept = sweep(drawn[:, None])[:, 0]
            norm_drawn = float(drawn_swept @ drawn_swept)
            if norm_drawn <= 1e-12:
                continue  # an assignment the design cannot estimate (no variation)
            pairs_ab.append(
                (float(drawn_swept @ y) / norm_drawn, float(drawn_swept @ d) / norm_drawn)
            )
        if not pairs_ab:
            raise EvaluationError("randomisation: no re-assignment of the paths can be estimated")
        ab = np.array(pairs_ab, dtype=np.float64)
        p_ri, low_ri, high_ri = few_treated.test_inversion(
            ab[:, 0], ab[:, 1], estimate, level=inference.level, scale=std_error, exact=exact
        )
        few = few_treated.FewTreatedResult(p_ri, low_ri, high_ri, len(ab), exact, rseed)
    elif inference.method == "wild_bootstrap":
        factor_wild = n_units / (n_units - 1) * (len(y) - 1) / (len(y) - (n_params + 1))
        few = few_treated.wild_cluster_bootstrap(
            residual_d,
            residual_y,
            unit_codes,
            n_units,
            sweep,
            factor=factor_wild,
            inference=inference,
        )

    # Resampling refits with explicit period dummies (only built when an interval needs them).
    resampling = inference.method in ("bootstrap", "permutation")
    controls = (
        np.column_stack([x_cov, (time_codes[:, None] == np.arange(1, n_times)).astype(float)])
        if resampling
        else np.empty((len(y), 0))
    )

    def boot_stat(sample: IntArray) -> float:
        rows, fresh = units.expand(sample)
        count = len(sample)
        design_b = np.column_stack(
            [_demean(d[rows], fresh, count), _demean(controls[rows], fresh, count)]
        )
        return float(_coefficients(design_b, _demean(y[rows], fresh, count))[0])

    perm_stat = None
    if inference.method == "permutation":
        if len(y) != n_units * n_times:
            raise SpecInvalid(
                "ci.method: 'permutation' for twfe needs a balanced panel (every unit in "
                "every period), so that whole treatment paths can be swapped between units"
            )
        paths = np.zeros((n_units, n_times))
        paths[unit_codes, time_codes] = d
        controls_dm = _demean(controls, unit_codes, n_units)
        targets = np.column_stack([_demean(y, unit_codes, n_units), d_dm])

        def perm_stat(rng: np.random.Generator) -> tuple[float, float]:
            drawn_paths = paths[rng.permutation(n_units)]
            drawn = drawn_paths[unit_codes, time_codes]
            design_p = np.column_stack([_demean(drawn, unit_codes, n_units), controls_dm])
            coefficients = _coefficients(design_p, targets)
            return float(coefficients[0, 0]), float(coefficients[0, 1])

    extras: dict[str, Any] = {
        "covariates": cov_names,
        "n_units": n_units,
        "n_periods": n_times,
        "n_clusters": n_units,
        "se": "cr1" if se == "cluster" else "classical",
        "staggered": staggered,
        "cohorts": {str(k): v for k, v in cohorts.items()},
        "n_params": n_params,
    }
    if event_study:
        if se != "cluster":
            raise SpecInvalid("event_study: needs se: cluster (CR1 by unit)")
        extras.update(
            _twfe_event_study(
                y,
                unit_codes,
                time_codes,
                n_units,
                first_period,
                x_cov,
                inference=inference,
                paths=paths,
                leads=leads,
                lags=lags,
                reference=reference,
                bin_endpoints=bin_endpoints,
            )
        )
    base = Inference(level=inference.level) if few is not None else inference
    result = finish(
        method="twfe",
        estimate=estimate,
        std_error=std_error,
        df=df,
        inference=base,
        n_treated=n_units - never,
        n_control=never,
        n_obs=len(y),
        outcome=outcome,
        estimand="two-way fixed effects coefficient on the treatment indicator",
        notes=notes,
        extras=extras,
        bootstrap_statistic=boot_stat,
        bootstrap_strata=strata,
        permutation_statistic=perm_stat,
    )
    if few is None:
        return result
    return few_treated.with_inference(result, few, inference)


def _twfe_event_study(
    y: FloatArray,
    unit_codes: IntArray,
    time_codes: IntArray,
    n_units: int,
    first_period: IntArray,
    x_cov: FloatArray,
    *,
    inference: Inference,
    paths: FloatArray | None,
    leads: int | None,
    lags: int | None,
    reference: int,
    bin_endpoints: bool,
) -> dict[str, Any]:
    """The event-study extras of a TWFE (the sample may lose rows beyond the window)."""
    design = _event_study.event_design(
        first_period,
        unit_codes,
        time_codes,
        leads=leads,
        lags=lags,
        reference=reference,
        bin_endpoints=bin_endpoints,
    )
    keep = design.keep
    units_k, n_units_k = _frame.factorize(pd.Series(unit_codes[keep]))
    times_k, n_times_k = _frame.factorize(pd.Series(time_codes[keep]))
    x_k = x_cov[keep]
    x_sw = _within_two_way(x_k, units_k, n_units_k, times_k, n_times_k) if x_k.shape[1] else x_k
    sweep = _sweeper(units_k, n_units_k, times_k, n_times_k, x_sw)

    coefficients, covariance, _ = _event_study.event_study_fit(
        design.dummies,
        y[keep],
        units_k,
        n_units_k,
        sweep,
        n_absorbed_params=x_k.shape[1] + n_times_k,
    )
    df = float(n_units_k - 1)
    if inference.method == "wild_bootstrap":
        return _wild_event_study(
            design,
            coefficients,
            covariance,
            y[keep],
            units_k,
            n_units_k,
            sweep,
            n_absorbed_params=x_k.shape[1] + n_times_k,
            df=df,
            inference=inference,
        )
    if inference.method != "randomisation" or paths is None:
        return _event_study.event_study_extras(
            design, coefficients, covariance, df=df, level=inference.level
        )
    # Randomisation inference per coefficient: the treatment paths are given to other
    # units, the dummies rebuilt, and each coefficient's test inverted on its own.
    orders, exact, _seed = few_treated.randomisation_assignments(paths, inference)
    targets = np.column_stack([y[keep], design.dummies])
    a_rows, b_rows, pre_rows = [], [], []
    leads_at = [j for j, r in enumerate(design.periods) if r < 0]
    k = len(design.periods)
    for order in orders:
        try:
            drawn = _event_study.event_design(
                first_period[order],
                unit_codes,
                time_codes,
                leads=leads,
                lags=lags,
                reference=reference,
                bin_endpoints=bin_endpoints,
            )
        except (SpecInvalid, DataInvalid):
            continue
        if drawn.periods != design.periods or not np.array_equal(drawn.keep, keep):
            continue  # another window: not comparable coefficient by coefficient
        swept = sweep(np.column_stack([drawn.dummies, targets]))
        solution = _coefficients(swept[:, :k], swept[:, k:])
        a_rows.append(solution[:, 0])
        b_rows.append(np.diag(solution[:, 1:]))
        pre_rows.append(float(np.sum(solution[leads_at, 0] ** 2)))
    if not a_rows:
        raise EvaluationError("event_study: no re-assignment of the paths gives the same window")
    a_all, b_all = np.array(a_rows), np.array(b_rows)
    scale = np.sqrt(np.diag(covariance))
    intervals: list[tuple[float | None, float | None]] = []
    for j in range(k):
        _p, low, high = few_treated.test_inversion(
            a_all[:, j],
            b_all[:, j],
            float(coefficients[j]),
            level=inference.level,
            scale=float(scale[j]),
            exact=exact,
        )
        intervals.append((low, high))
    pre_trend = None
    if leads_at:
        observed_pre = float(np.sum(coefficients[leads_at] ** 2))
        extra = 0 if exact else 1
        beyond = int(np.sum(np.array(pre_rows) >= observed_pre * (1 - 1e-10)))
        pre_trend = {
            "statistic": observed_pre,
            "df": len(leads_at),
            "p_value": (extra + beyond) / (len(pre_rows) + extra),
            "test": "randomisation test of the sum of squared leads",
            "leads": [design.periods[j] for j in leads_at],
        }
    extras = _event_study.event_study_extras(
        design,
        coefficients,
        covariance,
        df=df,
        level=inference.level,
        intervals=intervals,
        pre_trend=pre_trend,
    )
    extras["event_study_ci_method"] = "randomisation"
    return extras


def _wild_event_study(
    design: _event_study.EventDesign,
    coefficients: FloatArray,
    covariance: FloatArray,
    y: FloatArray,
    unit_codes: IntArray,
    n_units: int,
    sweep: _event_study.Sweep,
    *,
    n_absorbed_params: int,
    df: float,
    inference: Inference,
) -> dict[str, Any]:
    """Each event-study coefficient with its own restricted wild cluster bootstrap (WCR)
    test and inverted interval.

    Coefficient ``j`` is the slope of its dummy once the unit and period effects, the
    covariates *and the other dummies* are swept out (Frisch-Waugh-Lovell), so the
    one-slope bootstrap of :func:`few_treated.wild_cluster_bootstrap` applies with a sweep
    that also removes the other dummies; its CR1 standard error is the full regression's.
    Every coefficient uses the same weights (one seed). The joint pre-trend test stays the
    CR1 Wald test.
    """
    swept = sweep(np.column_stack([design.dummies, y]))
    dummies, target = swept[:, :-1], swept[:, -1]
    n_obs = len(y)
    k = dummies.shape[1]
    factor = n_units / (n_units - 1) * (n_obs - 1) / (n_obs - (k + n_absorbed_params))
    fixed = replace(inference, seed=draw_seed(inference.seed))
    intervals: list[tuple[float | None, float | None]] = []
    p_values: list[float] = []
    reps = 0
    for j in range(k):
        others = np.delete(dummies, j, axis=1)

        def sweep_j(columns: FloatArray, others: FloatArray = others) -> FloatArray:
            out = sweep(columns)
            if others.shape[1]:
                out = out - others @ _coefficients(others, out)
            return out

        d_j = (
            dummies[:, j] - others @ _coefficients(others, dummies[:, j])
            if k > 1
            else dummies[:, j]
        )
        y_j = target - others @ _coefficients(others, target) if k > 1 else target
        result = few_treated.wild_cluster_bootstrap(
            d_j, y_j, unit_codes, n_units, sweep_j, factor=factor, inference=fixed
        )
        intervals.append((result.low, result.high))
        p_values.append(result.p_value)
        reps = result.reps
    extras = _event_study.event_study_extras(
        design, coefficients, covariance, df=df, level=inference.level, intervals=intervals
    )
    by_period = dict(zip(design.periods, p_values, strict=True))
    for row in extras["event_study"]:
        if row["relative_period"] in by_period:
            row["p_value"] = by_period[row["relative_period"]]
    extras["event_study_ci_method"] = inference.label
    extras["event_study_wild_reps"] = reps
    if fixed.weights != "rademacher" or 2**n_units > fixed.reps:
        extras["event_study_wild_seed"] = fixed.seed
    return extras
