"""The intervention council's dashboard of one contract, computed from its data.

:func:`dashboard_build` takes the contract (core form), its participants and
imported records as pandas frames, the contract's example facts (for inputs no
data covers) and the day the dashboard is drawn up (``as_of``), and returns a
plain, JSON-serialisable dict. Every figure comes from the evaluation engine
(:mod:`utfall.core.evaluation`) or the contract engine
(:func:`utfall.core.contracts.settle`); this module only selects data, calls
them and lays out the results. Every aggregate over a subgroup or a
measurement point passes :func:`~utfall.services.council.suppression.suppress_cells`
here, before the dict exists, so nothing that is stored, shown, exported or
printed from it can describe fewer than five people.

The dashboard adapts to the contract's outcomes, recognised by its inputs:

``historical_reference``  net savings against a historical reference and school
                          results (Norrköping): cost trajectory, break-even,
                          projection, school thresholds, six social dimensions,
                          subgroups, individual status;
``sick_leave``            trend-adjusted short-term sick leave (Botkyrka,
                          Örnsköldsvik): expected vs observed days per month;
``collective_impact``     actors' activity and process outcomes and the joint pot
                          (Hässelby-Vallingby);
``outcomes``              any other contract: its outcome values and payments.

Money is ``Decimal`` rounded half-up to öre where a figure leaves the estimator
(the estimators work in floating point; see docs/decisions/0400-*).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from utfall.core.contracts import settle
from utfall.core.evaluation.historical_reference import CostPanel, historical_reference
from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.panel import did
from utfall.core.evaluation.prepost import pre_post
from utfall.core.evaluation.trend_adjusted import SickLeaveMonths, score_weights, trend_adjusted
from utfall.core.outcomes import SOCIAL_DIMENSIONS
from utfall.errors import UtfallError
from utfall.services.council.suppression import (
    MIN_CELL,
    is_publishable,
    publishable_share,
    suppress_cells,
)

__all__ = [
    "FOLLOW_UP_MONTHS",
    "RELIABILITY",
    "DashboardInput",
    "dashboard_build",
    "dashboard_kind",
    "money",
]

FOLLOW_UP_MONTHS = 36  # Norrköping: outcomes followed three years from inclusion
SICK_LEAVE_MONTHS = 36
# Test-retest reliability assumed for the 1–5 social-dimension scales when computing the
# Reliable Change Index (no reliability is stated in the seeds; decision 0401).
RELIABILITY = 0.8
# School thresholds when the contract names none (decision 0401): the mean change in
# merit points is above 0 with 95 % confidence, and at least half the children improved.
SCHOOL_MEAN_CHANGE = 0.0
SCHOOL_SHARE_IMPROVED = 0.5
PROJECTION_TAIL_MONTHS = 6
ORE = Decimal("0.01")


def money(value: float | Decimal | None) -> str | None:
    """A money figure as text, rounded half-up to öre (None stays None)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return str(
        Decimal(repr(value) if isinstance(value, float) else value).quantize(
            ORE, rounding=ROUND_HALF_UP
        )
    )


def _number(value: Any, places: int = 4) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, places) if math.isfinite(value) else None


@dataclass(frozen=True)
class DashboardInput:
    """Everything the dashboard is computed from.

    ``participants``: columns ``unit``, ``pseudonym``, ``included_on`` (date),
    ``group`` (treatment/comparison), ``cohort``, optionally ``left_on`` (date or None). ``records``: ``unit``, ``kind``,
    ``date``, ``category``, ``point``, ``quantity`` (float), ``amount`` (Decimal).
    ``facts``: example facts for inputs no data gives (may be empty).
    """

    contract: Any
    participants: pd.DataFrame
    records: pd.DataFrame
    as_of: dt.date
    facts: Mapping[str, Any] = field(default_factory=dict)
    facts_source: str | None = None
    seed: int = 20160801
    reps: int = 999


def dashboard_kind(contract: Any) -> str:
    """Which dashboard fits the contract, from the inputs it takes."""
    inputs = set(contract.inputs)
    if {"net_savings_sek", "school_results_met"} <= inputs:
        return "historical_reference"
    if {"slt", "slt_reference", "observed_days"} <= inputs:
        return "sick_leave"
    if {"activity_delivered", "process_outcomes_attained"} <= inputs:
        return "collective_impact"
    return "outcomes"


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _records(data: DashboardInput, kind: str) -> pd.DataFrame:
    frame = data.records
    if frame.empty:
        return frame
    part = frame[(frame["kind"] == kind) & (frame["date"] <= data.as_of)]
    return part.copy()


def dashboard_build(data: DashboardInput) -> dict[str, Any]:
    """The dashboard dict (see the module docstring); never raises for missing data."""
    kind = dashboard_kind(data.contract)
    dashboard: dict[str, Any] = {
        "contract": data.contract.id,
        "title": data.contract.title,
        "kind": kind,
        "as_of": data.as_of.isoformat(),
        "min_cell": MIN_CELL,
        "sources": {
            "participants": len(data.participants),
            "records": int((data.records["date"] <= data.as_of).sum())
            if not data.records.empty
            else 0,
            "facts": data.facts_source if data.facts else None,
        },
        "notes": [],
    }
    facts: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if kind == "historical_reference":
        facts, origins = _historical_reference(data, dashboard)
    elif kind == "sick_leave":
        facts, origins = _sick_leave(data, dashboard)
    elif kind == "collective_impact":
        facts, origins = _collective_impact(data, dashboard)
    dashboard["settlement"] = _settlement_today(data, facts, origins, dashboard)
    if kind == "outcomes":
        _outcome_values(dashboard)
    return dashboard


# --- Norrköping: costs against the historical reference ---------------------------


def _since_inclusion(records: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    inclusion = participants.set_index("unit")["included_on"]
    out = records[records["unit"].isin(inclusion.index)].copy()
    start = out["unit"].map(inclusion).map(_month_index)
    out["month"] = out["date"].map(_month_index) - start
    return out


def _panel(costs: pd.DataFrame) -> CostPanel:
    return CostPanel.from_arrays(
        costs["unit"].to_numpy(),
        costs["month"].to_numpy(dtype=np.int64),
        costs["amount"].astype(float).to_numpy(),
        price=costs["price"].to_numpy(dtype=np.float64) if "price" in costs else None,
    )


def _with_prices(data: DashboardInput, costs: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Costs with the price index of their calendar month, when one is imported for every
    month (the reference is then re-priced to each month's prices, as the evaluation spec
    does); otherwise nominal costs."""
    index = data.records[data.records["kind"] == "price_index"] if not data.records.empty else None
    if index is None or index.empty or costs.empty:
        return costs
    by_month = index.set_index(index["date"].map(_month_index))["quantity"].astype(float)
    by_month = by_month[~by_month.index.duplicated()]
    price = costs["date"].map(_month_index).map(by_month)
    if price.isna().any() or (price <= 0).any():
        notes.append("price_index_incomplete")
        return costs
    out = costs.copy()
    out["price"] = price.to_numpy(dtype=np.float64)
    return out


def _historical_reference(
    data: DashboardInput, dashboard: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    people = data.participants
    included = people[(people["group"] == "treatment") & (people["included_on"] <= data.as_of)]
    reference = people[people["group"] == "comparison"]
    dashboard["included"] = len(included)
    facts: dict[str, Any] = {}
    origins: dict[str, str] = {}
    costs = _records(data, "cost_records")
    if not costs.empty:
        costs = _since_inclusion(costs, people)
        costs = costs[(costs["month"] >= 0) & (costs["month"] < FOLLOW_UP_MONTHS)]
        costs = _with_prices(data, costs, dashboard["notes"])
    obs = costs[costs["unit"].isin(included["unit"])] if not costs.empty else costs
    ref = costs[costs["unit"].isin(reference["unit"])] if not costs.empty else costs
    if obs.empty or ref.empty:
        dashboard["notes"].append("no_cost_data")
    else:
        horizon = int(obs["month"].max())
        estimate = historical_reference(
            _panel(ref),
            _panel(obs),
            trend="empirical",
            horizon=horizon,
            ci_method="bootstrap",
            reps=data.reps,
            seed=data.seed,
            outcome="cost_sek",
        )
        dashboard["costs"] = _cost_section(estimate, included_count=len(included))
        facts["net_savings_sek"] = Decimal(dashboard["costs"]["net_saving"])
        origins["net_savings_sek"] = "historical_reference"
        dashboard["subgroups"] = _cost_subgroups(data, costs, included, reference)
    reports = _records(data, "cost_reports")
    if not reports.empty:
        facts["invested_sek"] = sum(reports["amount"], Decimal(0))
        origins["invested_sek"] = "cost_reports"
    school = _school(data, included, reference)
    dashboard["school"] = school
    if school.get("met") is not None or not data.records.empty:
        # With data, thresholds not (yet) shown to be met count as not met.
        facts["school_results_met"] = bool(school.get("met"))
        origins["school_results_met"] = school.get("rule", "pre_post")
    dashboard["social"] = _social(data, included)
    dashboard["individuals"] = _individuals(data, included, costs)
    return facts, origins


def _cost_section(estimate: Any, *, included_count: int) -> dict[str, Any]:
    extras = estimate.extras
    months = extras["months"]
    rows = []
    for i, month in enumerate(months):
        rows.append(
            {
                "month": month,
                "n": extras["included_by_month"][i],
                "expected": money(extras["expected_by_month"][i]),
                "observed": money(extras["observed_by_month"][i]),
                "saving": money(extras["saving_by_month"][i]),
                "cumulative": money(extras["cumulative_by_month"][i]),
            }
        )
    # Months where fewer than five included children were observed are not published.
    rows = [row for row in rows if is_publishable(row["n"])]
    projected, low, high = _projection(estimate, included_count)
    return {
        "monthly": rows,
        "net_saving": money(estimate.estimate),
        "ci_low": money(estimate.ci_low),
        "ci_high": money(estimate.ci_high),
        "level": estimate.level,
        "expected_cost": money(extras["expected_cost"]),
        "observed_cost": money(extras["observed_cost"]),
        "break_even_month": extras["break_even_month"],
        "break_even_month_ci": extras["break_even_month_ci"],
        "first_saving_month": extras["first_saving_month"],
        "projected_saving": money(projected),
        "projected_low": money(low),
        "projected_high": money(high),
        "n_included": estimate.n_treated,
        "n_reference": estimate.n_control,
        "seed": estimate.seed,
        "reps": extras.get("reps"),
        "estimand": estimate.estimand,
        "price_indexed": bool(extras.get("price_indexed")),
    }


def _projection(estimate: Any, included_count: int) -> tuple[float, float | None, float | None]:
    """The saving at the end of follow-up if every included child were followed 36 months.

    The observed mean saving per child and month carries the projection: months
    not yet reached by anyone take the mean of the last observed months. The band
    is the estimate's interval widened in proportion to the child-months projected
    over those observed (decision 0401).
    """
    extras = estimate.extras
    counts = np.asarray(extras["included_by_month"], dtype=np.float64)
    saving = np.asarray(extras["saving_by_month"], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_child = np.where(counts > 0, saving / counts, np.nan)
    observed = per_child[np.isfinite(per_child)]
    tail = float(observed[-PROJECTION_TAIL_MONTHS:].mean()) if len(observed) else 0.0
    full = np.full(FOLLOW_UP_MONTHS, tail)
    first = int(extras["months"][0])
    for i, value in enumerate(per_child):
        if first + i < FOLLOW_UP_MONTHS and math.isfinite(value):
            full[first + i] = value
    n = max(included_count, estimate.n_treated or 0)
    projected = float(full.sum() * n)
    exposure = float(counts.sum())
    factor = (n * FOLLOW_UP_MONTHS) / exposure if exposure else math.nan
    if estimate.ci_low is None or estimate.ci_high is None or not math.isfinite(factor):
        return projected, None, None
    return (
        projected,
        projected - (estimate.estimate - estimate.ci_low) * factor,
        projected + (estimate.ci_high - estimate.estimate) * factor,
    )


def _earlier_placements(data: DashboardInput, people: pd.DataFrame) -> pd.Series:
    """Per child: whether the records show placement days before inclusion."""
    days = _records(data, "placement_days")
    if days.empty:
        return pd.Series(dtype=object)
    days = _since_inclusion(days, people)
    before = days[(days["month"] < 0) & (days["quantity"] > 0)]["unit"].unique()
    return pd.Series(
        np.where(people["unit"].isin(before), "yes", "no"), index=people["unit"].to_numpy()
    )


def _cost_subgroups(
    data: DashboardInput, costs: pd.DataFrame, included: pd.DataFrame, reference: pd.DataFrame
) -> dict[str, list[dict[str, Any]]]:
    people = pd.concat([included, reference])
    labels = {"age_band": people.set_index("unit")["cohort"].replace("", np.nan)}
    earlier = _earlier_placements(data, people)
    if not earlier.empty:
        labels["earlier_placements"] = earlier
    out: dict[str, list[dict[str, Any]]] = {}
    for name, label in labels.items():
        label = label.dropna()
        rows = []
        for level in sorted(set(label[label.index.isin(included["unit"])].tolist()), key=str):
            members = set(label[label == level].index)
            obs_units = set(included["unit"]) & members
            row: dict[str, Any] = {"level": str(level), "n": len(obs_units)}
            if is_publishable(len(obs_units)):
                obs = costs[costs["unit"].isin(obs_units)]
                ref_units = set(reference["unit"]) & members
                pooled = not is_publishable(len(ref_units))
                ref = costs[costs["unit"].isin(set(reference["unit"]) if pooled else ref_units)]
                if not obs.empty and not ref.empty:
                    try:
                        estimate = historical_reference(
                            _panel(ref),
                            _panel(obs),
                            trend="empirical",
                            horizon=int(obs["month"].max()),
                            ci_method="bootstrap",
                            reps=data.reps,
                            seed=data.seed,
                        )
                    except UtfallError:
                        estimate = None
                    if estimate is not None:
                        row.update(
                            saving=money(estimate.estimate),
                            saving_per_individual=money(estimate.estimate / len(obs_units)),
                            ci_low=money(estimate.ci_low),
                            ci_high=money(estimate.ci_high),
                            reference="pooled" if pooled else "matched",
                        )
            rows.append(row)
        out[name] = suppress_cells(rows)
    return out


# --- school results and the six social dimensions -----------------------------------


def _before_after(records: pd.DataFrame, units: pd.Series) -> pd.DataFrame:
    """Merit points of ``units`` measured twice: ``wave`` 0 the first, 1 the last."""
    merit = records[
        records["unit"].isin(units) & (records["category"].isin(["merit_points", ""]))
    ].copy()
    if merit.empty:
        return merit
    first = merit.groupby("unit")["date"].transform("min")
    last = merit.groupby("unit")["date"].transform("max")
    merit = merit[(first < last) & ((merit["date"] == first) | (merit["date"] == last))].copy()
    merit["wave"] = (merit["date"] == last[merit.index]).astype(int)
    return merit.drop_duplicates(["unit", "wave"])


def _contract_rule(contract: Any) -> Any:
    """The contract's own definition of "school thresholds met", when it states one: the
    ``school_results_met`` input bound to a difference-in-differences with ``take`` and
    ``at_least`` (as the Norrköping reference contract)."""
    term = getattr(contract, "inputs", {}).get("school_results_met")
    if term is None or term.evaluate is None or term.at_least is None:
        return None
    return term


def _contract_threshold(
    records: pd.DataFrame, merit: pd.DataFrame, reference: pd.DataFrame, term: Any
) -> dict[str, Any] | None:
    """The contract's threshold row: the DiD of merit points against the reference group."""
    control = _before_after(records, reference["unit"])
    if control.empty or not is_publishable(int(control["unit"].nunique())):
        return None
    frame = pd.concat([merit.assign(included=1), control.assign(included=0)])
    try:
        estimate = did(
            frame.rename(columns={"quantity": "score"}),
            outcome="score",
            treatment="included",
            post="wave",
            unit="unit",
        )
        figure = estimate.take(term.take or "estimate")
    except (UtfallError, KeyError):
        return None
    threshold = float(term.at_least)
    return {
        "measure": f"did_{term.take or 'estimate'}",
        "value": _number(figure, 2),
        "threshold": threshold,
        "met": figure is not None and float(figure) >= threshold,
    }


def _school(
    data: DashboardInput, included: pd.DataFrame, reference: pd.DataFrame
) -> dict[str, Any]:
    records = _records(data, "school_results")
    section: dict[str, Any] = {"met": None, "thresholds": []}
    if records.empty:
        return section
    # Before = each child's first measurement, after = the last (children measured twice).
    merit = _before_after(records, included["unit"])
    if merit.empty:
        return section
    pairs = int(merit["unit"].nunique())
    section["n"] = pairs
    if not is_publishable(pairs):
        section["suppressed"] = True
        return section
    estimate = pre_post(
        merit.rename(columns={"quantity": "score"}),
        outcome="score",
        unit="unit",
        time="wave",
        baseline=0,
        follow_up=1,
    )
    wide = merit.pivot_table(index="unit", columns="wave", values="quantity", aggfunc="first")
    share_improved = float((wide[1] > wide[0]).mean())
    parameters = data.contract.parameters
    mean_threshold = float(
        parameters["school_threshold_mean_change"].default
        if "school_threshold_mean_change" in parameters
        else SCHOOL_MEAN_CHANGE
    )
    share_threshold = float(
        parameters["school_threshold_share_improved"].default
        if "school_threshold_share_improved" in parameters
        else SCHOOL_SHARE_IMPROVED
    )
    thresholds = [
        {
            "measure": "mean_change_lower_bound",
            "value": _number(estimate.ci_low, 2),
            "threshold": mean_threshold,
            "met": estimate.ci_low is not None and estimate.ci_low > mean_threshold,
        },
        {
            "measure": "share_improved",
            "value": _number(share_improved),
            "threshold": share_threshold,
            "met": share_improved >= share_threshold,
        },
    ]
    met = all(t["met"] for t in thresholds)
    rule = "pre_post"
    term = _contract_rule(data.contract)
    if term is not None:
        # The contract says what "met" means: that decides; the rows above inform.
        row = _contract_threshold(records, merit, reference, term)
        if row is not None:
            thresholds.insert(0, row)
            met, rule = row["met"], "did"
    section.update(
        rule=rule,
        mean_change=_number(estimate.estimate, 2),
        ci_low=_number(estimate.ci_low, 2),
        ci_high=_number(estimate.ci_high, 2),
        mean_before=_number(estimate.extras["mean_baseline"], 2),
        mean_after=_number(estimate.extras["mean_follow_up"], 2),
        thresholds=thresholds,
        met=met,
        suppressed=False,
    )
    return section


def _social(data: DashboardInput, included: pd.DataFrame) -> list[dict[str, Any]]:
    records = _records(data, "social_scores")
    if records.empty:
        return []
    records = records[records["unit"].isin(included["unit"]) & records["point"].notna()].copy()
    records["point"] = records["point"].astype(int)
    rows: list[dict[str, Any]] = []
    for dimension in SOCIAL_DIMENSIONS:
        part = records[records["category"] == dimension]
        if part.empty:
            continue
        wide = part.pivot_table(index="unit", columns="point", values="quantity", aggfunc="first")
        for point in sorted(wide.columns):
            measured = wide[point].dropna()
            row: dict[str, Any] = {
                "dimension": dimension,
                "point": int(point),
                "n": len(measured),
                "mean": _number(measured.mean(), 2),
            }
            if dimension == "own_goal_attainment":
                reached = int((measured >= 1).sum())
                row["share_goal_reached"] = _number(publishable_share(reached, len(measured)))
            if point != wide.columns[0]:
                both = wide[[wide.columns[0], point]].dropna()
                row["n_paired"] = len(both)
                if is_publishable(len(both)):
                    improved = int((both[point] > both[wide.columns[0]]).sum())
                    row["share_improved"] = _number(publishable_share(improved, len(both)))
                    if dimension != "own_goal_attainment":
                        row.update(_reliable_change(part, wide.columns[0], point))
            rows.append(row)
    out: list[dict[str, Any]] = []
    for row in rows:
        # Each cell on its own (points are not parts of one total): no secondary suppression.
        out.extend(suppress_cells([row], keep=("dimension", "point"), secondary=False))
    return out


def _reliable_change(part: pd.DataFrame, first: int, point: int) -> dict[str, Any]:
    frame = part[part["point"].isin([first, point])]
    try:
        estimate = pre_post(
            frame.rename(columns={"quantity": "score"}),
            outcome="score",
            unit="unit",
            time="point",
            baseline=first,
            follow_up=point,
            reliability=RELIABILITY,
            inference=Inference(method="analytic"),
        )
    except UtfallError:
        return {}
    extras = estimate.extras
    improved = int(extras.get("n_reliably_improved", 0))
    deteriorated = int(extras.get("n_reliably_deteriorated", 0))
    paired = improved + deteriorated + int(extras.get("n_no_reliable_change", 0))
    return {
        "mean_change": _number(estimate.estimate, 2),
        "share_reliably_improved": _number(publishable_share(improved, paired)),
        "share_reliably_deteriorated": _number(publishable_share(deteriorated, paired)),
    }


def _individuals(
    data: DashboardInput, included: pd.DataFrame, costs: pd.DataFrame
) -> list[dict[str, Any]]:
    """Status per included person, by short pseudonym (never shown to the financier)."""
    days = _records(data, "placement_days")
    last = _month_index(data.as_of)
    scores = _records(data, "social_scores")
    school = _records(data, "school_results")
    rows = []
    for person in included.itertuples():
        mine = days[days["unit"] == person.unit] if not days.empty else days
        months = mine["date"].map(_month_index) if not mine.empty else pd.Series(dtype=int)
        recent = mine[months > last - 3] if not mine.empty else mine
        placed = mine[months == last] if not mine.empty else mine
        social = scores[scores["unit"] == person.unit] if not scores.empty else scores
        point = int(social["point"].max()) if not social.empty else None
        goal = None
        if point is not None:
            own = social[(social["category"] == "own_goal_attainment") & (social["point"] == point)]
            goal = bool(own["quantity"].iloc[0] >= 1) if not own.empty else None
        merit = school[(school["unit"] == person.unit) & (school["category"] == "merit_points")]
        merit = merit.sort_values("date") if not merit.empty else merit
        change = (
            _number(merit["quantity"].iloc[-1] - merit["quantity"].iloc[0], 1)
            if len(merit) >= 2
            else None
        )
        rows.append(
            {
                "pseudonym": person.pseudonym[:12],
                "included_on": person.included_on.isoformat(),
                "months_since_inclusion": last - _month_index(person.included_on),
                "placed_this_month": bool((placed["quantity"] > 0).any()) if len(placed) else False,
                "placement_days_last_3_months": int(recent["quantity"].sum()) if len(recent) else 0,
                "measurement_points": point,
                "own_goal_reached": goal,
                "merit_change": change,
            }
        )
    return rows


# --- sick leave ---------------------------------------------------------------------


def _series(facts: Mapping[str, Any], name: str) -> list[float] | None:
    value = facts.get(name)
    if isinstance(value, list) and len(value) == SICK_LEAVE_MONTHS:
        return [float(v) for v in value]
    return None


def _contract_start(data: DashboardInput, people: pd.DataFrame) -> int:
    """The month the observation starts: the contract's ``contract`` period when it names one
    (decision 0302), else the first inclusion."""
    periods = getattr(data.contract, "periods", None) or {}
    if "contract" in periods:
        return _month_index(periods["contract"].start)
    return _month_index(people["included_on"].min())


def _imported_trend_index(
    data: DashboardInput, start: int, dashboard: dict[str, Any]
) -> tuple[list[float], list[float]] | None:
    """SLT and SLT_ref per contract month from an imported ``sick_leave_trend_index``.

    None when none is imported, or (with a note) when it lacks a reference month or a
    contract month up to ``as_of``. A contract month not yet published takes its reference
    month's value: such a month counts as no change anyway (decision 0401).
    """
    records = _records(data, "sick_leave_trend_index")
    if records.empty:
        return None
    values = dict(zip(records["date"].map(_month_index), records["quantity"], strict=True))
    reference = [values.get(start - SICK_LEAVE_MONTHS + i) for i in range(SICK_LEAVE_MONTHS)]
    contract = [values.get(start + i) for i in range(SICK_LEAVE_MONTHS)]
    last = min(_month_index(data.as_of) - start, SICK_LEAVE_MONTHS - 1)
    if any(v is None for v in reference) or any(contract[i] is None for i in range(last + 1)):
        dashboard["notes"].append("trend_index_incomplete")
        return None
    slt_reference = [float(v) for v in reference if v is not None]
    slt = [float(c) if c is not None else r for c, r in zip(contract, slt_reference, strict=True)]
    return slt, slt_reference


def _sick_leave(
    data: DashboardInput, dashboard: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    facts: dict[str, Any] = {}
    origins: dict[str, str] = {}
    slt = _series(data.facts, "slt")
    slt_reference = _series(data.facts, "slt_reference")
    records = _records(data, "sick_leave_days")
    people = data.participants[data.participants["group"] == "treatment"]
    if not (records.empty or people.empty):
        imported = _imported_trend_index(data, _contract_start(data, people), dashboard)
        if imported is not None:
            # The imported index replaces the example facts' one (decision 0302).
            slt, slt_reference = imported
            facts["slt"] = [Decimal(repr(v)) for v in slt]
            facts["slt_reference"] = [Decimal(repr(v)) for v in slt_reference]
            origins["slt"] = origins["slt_reference"] = "sick_leave_trend_index"
    if slt is None or slt_reference is None:
        dashboard["notes"].append("no_trend_index")
        return facts, origins
    day_value = float(data.facts.get("value_per_sick_day_sek", 0)) or None
    if records.empty or people.empty:
        reference_days = _series(data.facts, "reference_days")
        observed_days = _series(data.facts, "observed_days")
        if reference_days is None or observed_days is None:
            dashboard["notes"].append("no_sick_leave_data")
            return facts, origins
        employees = float(data.facts.get("employees", 1))
        months = SickLeaveMonths.from_arrays(
            month=list(range(1, SICK_LEAVE_MONTHS + 1)),
            reference_days=reference_days,
            reference_headcount=[1.0] * SICK_LEAVE_MONTHS,
            contract_days=observed_days,
            contract_headcount=[1.0] * SICK_LEAVE_MONTHS,
            reference_index=slt_reference,
            contract_index=slt,
        )
        estimate = trend_adjusted(
            months,
            day_value=day_value,
            employees=employees,
            ci_method=None,
            outcome="sick_days",
        )
        dashboard["notes"].append("sick_leave_from_facts")
        calendar: list[str | None] = [None] * SICK_LEAVE_MONTHS
    else:
        start = _contract_start(data, people)
        # As the settlement counts (decision 0302): an employee from the month of inclusion
        # to the month of leaving; the head count is per month, records outside are unused.
        first = people.set_index("unit")["included_on"].map(_month_index) - start
        left = people.set_index("unit").get("left_on")
        last = (
            left.map(lambda d: math.inf if pd.isna(d) else _month_index(d) - start)
            if left is not None
            else pd.Series(math.inf, index=first.index)
        )
        records = records[records["unit"].isin(first.index)].copy()
        records["index"] = records["date"].map(_month_index) - start
        records = records[
            (records["index"] >= records["unit"].map(first))
            & (records["index"] <= records["unit"].map(last))
        ]

        def heads(index: int) -> float:
            return float(((first <= index) & (last >= index)).sum())

        reference = records[(records["index"] < 0) & (records["index"] >= -SICK_LEAVE_MONTHS)]
        contract = records[(records["index"] >= 0) & (records["index"] < SICK_LEAVE_MONTHS)]
        seen = sorted(contract["index"].unique().tolist())
        last_seen = _month_index(data.as_of) - start
        seen = list(range(0, min(last_seen, SICK_LEAVE_MONTHS - 1) + 1)) if seen else []
        reference_heads = [heads(i - SICK_LEAVE_MONTHS) for i in range(SICK_LEAVE_MONTHS)]
        contract_heads = [heads(i) for i in range(SICK_LEAVE_MONTHS)]
        if seen and not all(reference_heads[i] and contract_heads[i] for i in seen):
            # The settlement refuses such months too (decision 0302).
            dashboard["notes"].append("sick_leave_months_without_employees")
            return facts, origins
        if not seen or reference.empty:
            dashboard["notes"].append("no_sick_leave_data")
            return facts, origins
        reference_by = reference.groupby(reference["index"] + SICK_LEAVE_MONTHS)["quantity"].sum()
        contract_by = contract.groupby("index")["quantity"].sum()
        months = SickLeaveMonths.from_arrays(
            month=[i + 1 for i in seen],
            reference_days=[float(reference_by.get(i, 0.0)) for i in seen],
            reference_headcount=[reference_heads[i] for i in seen],
            contract_days=[float(contract_by.get(i, 0.0)) for i in seen],
            contract_headcount=[contract_heads[i] for i in seen],
            reference_index=[slt_reference[i] for i in seen],
            contract_index=[slt[i] for i in seen],
        )
        w_ref, w_con = score_weights(months)
        position = {i: k for k, i in enumerate(seen)}
        units = sorted(people["unit"].unique().tolist())
        score = pd.Series(0.0, index=units)
        ref_rows = reference[(reference["index"] + SICK_LEAVE_MONTHS).isin(position)]
        con_rows = contract[contract["index"].isin(position)]
        score = score.add(
            ref_rows.assign(
                w=(ref_rows["index"] + SICK_LEAVE_MONTHS).map(position).map(lambda k: w_ref[k])
                * ref_rows["quantity"]
            )
            .groupby("unit")["w"]
            .sum(),
            fill_value=0.0,
        )
        score = score.sub(
            con_rows.assign(
                w=con_rows["index"].map(position).map(lambda k: w_con[k]) * con_rows["quantity"]
            )
            .groupby("unit")["w"]
            .sum(),
            fill_value=0.0,
        )
        estimate = trend_adjusted(
            months,
            scores=score.to_numpy(),
            day_value=day_value,
            employees=None,  # the mean head count of the contract months observed
            ci_method="bootstrap",
            reps=data.reps,
            seed=data.seed,
            outcome="sick_days",
        )
        calendar = [_month_start(start + i).isoformat() for i in range(SICK_LEAVE_MONTHS)]
        facts["employees"] = round(float(estimate.extras["employees"]))
        facts["reference_days"] = [
            Decimal(str(round(float(reference_by.get(i, 0.0)) / (reference_heads[i] or 1), 4)))
            for i in range(SICK_LEAVE_MONTHS)
        ]
        observed = []
        for i in range(SICK_LEAVE_MONTHS):
            if i in position:
                days = float(contract_by.get(i, 0.0)) / contract_heads[i]
                observed.append(Decimal(str(round(days, 4))))
            else:
                # Not yet observed: counted as the expected days, i.e. no saving (decision 0401).
                expected = float(facts["reference_days"][i]) * slt[i] / slt_reference[i]
                observed.append(Decimal(str(round(expected, 4))))
        facts["observed_days"] = observed
        for name in ("employees", "reference_days", "observed_days"):
            origins[name] = "sick_leave_days"
    expected = months.expected_per_employee
    observed_pe = months.observed_per_employee
    employees_n = float(estimate.extras["employees"] or 1)
    rows = []
    cumulative = 0.0
    for k, month in enumerate(months.month):
        saving_days = float(expected[k] - observed_pe[k])
        cumulative += saving_days * employees_n * (day_value or 0.0)
        index = int(month) - 1
        rows.append(
            {
                "month_index": int(month),
                "month": calendar[index] if index < len(calendar) else None,
                "trend_ratio": _number(months.weight[k]),
                "expected_per_employee": _number(expected[k]),
                "observed_per_employee": _number(observed_pe[k]),
                "saving_days_per_employee": _number(saving_days),
                "cumulative_saving": money(cumulative),
            }
        )
    dashboard["sick_leave"] = {
        "monthly": rows,
        "employees": int(employees_n),
        "day_value": money(day_value),
        "expected_days": _number(estimate.extras["expected_days"], 1),
        "observed_days": _number(estimate.extras["observed_days"], 1),
        "saving_days": _number(estimate.extras["saving_days"], 1),
        "saving_to_date": money(estimate.estimate) if day_value else None,
        "ci_low": money(estimate.ci_low) if day_value else None,
        "ci_high": money(estimate.ci_high) if day_value else None,
        "months_observed": len(rows),
    }
    return facts, origins


# --- collective impact and other contracts -----------------------------------------


def _collective_impact(
    data: DashboardInput, dashboard: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    if not data.facts:
        dashboard["notes"].append("no_facts")
    else:
        dashboard["notes"].append("collective_impact_from_facts")
    return {}, {}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _settlement_today(
    data: DashboardInput,
    facts: dict[str, Any],
    origins: dict[str, str],
    dashboard: dict[str, Any],
) -> dict[str, Any]:
    """What the contract would pay if it ended on ``as_of``: data first, then example facts."""
    contract = data.contract
    merged = {n: v for n, v in data.facts.items() if n in contract.inputs}
    merged.update(facts)
    sources = {n: origins.get(n, "facts") for n in merged}
    missing = sorted(set(contract.inputs) - set(merged))
    if missing:
        return {"error": "missing_inputs", "missing": missing, "sources": sources}
    try:
        result = settle(contract, merged, source="council dashboard")
    except UtfallError as error:
        return {"error": "settle_failed", "detail": str(error), "sources": sources}
    shown = result.to_json()
    outputs = []
    for name, value in shown["outputs"].items():
        output = contract.outputs[name]
        outputs.append(
            {
                "name": name,
                "type": output.type,
                "value": _plain(value),
                "description": output.description or "",
            }
        )
    if dashboard["kind"] == "collective_impact":
        dashboard["actors"] = _actors(result)
    return {
        "error": None,
        "inputs": {n: _plain(v) for n, v in shown["inputs"].items()},
        "sources": sources,
        "outputs": outputs,
        "payments": [
            {
                "id": p["id"],
                "from": p["from"],
                "to": p["to"],
                "label": p["label"],
                "amount": money(Decimal(str(p["amount_sek"]))),
            }
            for p in shown["payments"]
        ],
        "total": money(sum((p.amount for p in result.payments), Decimal(0))),
    }


def _actors(result: Any) -> dict[str, Any]:
    outputs, inputs = result.outputs, result.inputs
    rows = []
    for i, budget in enumerate(result.parameters["actor_budgets_sek"]):
        rows.append(
            {
                "actor": f"actor-{i + 1}",
                "budget": money(budget),
                "activity_delivered": _number(inputs["activity_delivered"][i]),
                "process_outcomes_attained": _number(inputs["process_outcomes_attained"][i]),
                "activity_pay": money(outputs["activity_pay_sek"][i]),
                "process_pay": money(outputs["process_pay_sek"][i]),
                "pot_pay": money(outputs["pot_pay_sek"][i]),
                "total_pay": money(outputs["actor_pay_sek"][i]),
            }
        )
    return {
        "rows": rows,
        "joint_pot": money(outputs["joint_pot_sek"]),
        "pot_released": bool(outputs["pot_released"]),
        "joint_outcomes_attained": _number(inputs["joint_outcomes_attained"]),
        "joint_outcomes_threshold": _number(result.parameters["joint_outcomes_threshold"]),
        "total_pay": money(outputs["total_pay_sek"]),
        "withheld": money(outputs["withheld_sek"]),
    }


def _outcome_values(dashboard: dict[str, Any]) -> None:
    settlement = dashboard["settlement"]
    if settlement.get("error"):
        return
    dashboard["outcome_values"] = [
        {"name": o["name"].removesuffix("_value_sek"), "value": o["value"]}
        for o in settlement["outputs"]
        if o["name"].endswith("_value_sek") and o["name"] != "rate_card_value_sek"
    ]
