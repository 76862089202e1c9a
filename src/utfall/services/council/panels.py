"""The council's panels: one per evaluation, laid out by its method.

What a panel shows follows from what the contract declares — the method of the
evaluation, the table it reads, the columns and labels of that table, the inputs
that take a figure of it — never from the contract's identity or its names:

=======================  ==============================================================
method                   panel (``kind``)
=======================  ==============================================================
historical_reference     ``cost_trajectory``: expected against observed by month since
                         inclusion, the cumulative saving and the month from which it
                         stays positive, the projection to the evaluation's horizon
trend_adjusted           ``expected_observed``: expected (trend-adjusted) against observed
                         per month and the cumulative saving
rate_card                ``funnel``: included participants and each outcome over time,
                         what is earned against the cap, the counts and what was not
                         counted, by reason
pre_post, did            ``before_after``: before and after (and the comparison group's),
                         the thresholds of inputs bound with ``at_least``
aggregate                ``aggregate``: the exact figure, per level when it has ``by``
any other method         ``estimate``: the estimate and its interval; any series among
                         its figures as a line chart; ``event_study`` instead when the
                         estimate has an event study (``twfe`` with ``event_study: true``,
                         ``staggered_did``)
=======================  ==============================================================

Whatever the kind, an estimate with an event study (``extras["event_study"]``) adds the
panel's ``event_study`` block: the coefficients by period relative to adoption with
their intervals, the reference period and the pre-trend test (decision 0706).

Every panel has the estimate with its one interval (``estimate``), the inputs that
take a figure of it (``bound``) and, where the participants declare subgroups, the
subgroup table. The figures are the estimates the settlement (or, for a followed
evaluation, :func:`~utfall.services.bindings.evaluations_run`) computed; a panel only
selects and rounds them. Groups of fewer than five people are suppressed here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.core.contracts import Contract
from utfall.core.contracts.data import IDENTITY_COLUMN, Column
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import EvaluationSpec, method_options
from utfall.core.finance import stays_non_negative_from
from utfall.core.privacy import MIN_CELL, complementary_cell
from utfall.errors import UtfallError
from utfall.services.council.dashboard import (
    error_dict,
    label_dict,
    money,
)
from utfall.services.council.suppression import (
    SUPPRESSED,
    is_publishable,
    publishable_share,
    suppress_cells,
)
from utfall.services.tables import ArrowTables, TableMissing

__all__ = ["KINDS", "PROJECTION_TAIL_MONTHS", "PanelContext", "evaluation_panels", "output_series"]

KINDS = {
    "historical_reference": "cost_trajectory",
    "trend_adjusted": "expected_observed",
    "rate_card": "funnel",
    "pre_post": "before_after",
    "did": "before_after",
    "aggregate": "aggregate",
}
"""The panel of each method; any other method gets ``estimate``."""
PROJECTION_TAIL_MONTHS = 6
"""Months not yet reached take the mean saving per individual of the last this many observed
months (decision 0401)."""
TEXT_LEVEL = {True: {"sv": "ja", "en": "yes"}, False: {"sv": "nej", "en": "no"}}


@dataclass
class PanelContext:
    """What every panel reads: the contract, the data as of the day, the estimates (or the
    error of each evaluation that could not run) and the settlement section."""

    contract: Contract
    data: Any
    estimates: Mapping[str, Estimate | BaseException]
    subgroup_runs: Mapping[str, tuple[str, str, EvaluationSpec]]
    settlement: Mapping[str, Any]
    run: Any
    _frames: dict[str, pa.Table | None] = field(default_factory=dict)

    def parameters(self) -> Mapping[str, Any]:
        """The parameter values the settlement used (the contract's defaults without one)."""
        if self.run is not None:
            return self.run.settlement.parameters
        return {name: term.default for name, term in self.contract.parameters.items()}

    def frame(self, spec: EvaluationSpec) -> pa.Table | None:
        """The rows ``spec``'s method reads from the tables as of the day (for counting the
        people behind a figure); None without data."""

        key = spec.model_copy(update={"subgroup": None}).model_dump_json(
            include={"data", "where", "per", "span", "periods", "outcome"}
        )
        if key not in self._frames:
            self._frames[key] = self._frame(spec)
        return self._frames[key]

    def _frame(self, spec: EvaluationSpec) -> pa.Table | None:
        from utfall.services.bindings import evaluation_tables
        from utfall.services.frames import evaluation_frame

        names = evaluation_tables(self.contract, spec)
        tables = {}
        for name in names:
            table = self.data.table(name)
            if table is None:
                return None
            tables[name] = table
        try:
            return evaluation_frame(
                spec.model_copy(update={"subgroup": None}),
                ArrowTables(tables, origin="the data as of the dashboard's day"),
                self.contract.data,
                self.contract.periods,
                until=self.data.day,
            )
        except UtfallError:
            return None


# --- small helpers --------------------------------------------------------------------------


def _number(value: Any, places: int = 4) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, places) if math.isfinite(number) else None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _outcome_column(contract: Contract, spec: EvaluationSpec) -> Column | None:
    if not spec.outcome:
        return None
    table = contract.data.table(spec.data)
    if table.has(spec.outcome):
        return table.column(spec.outcome)
    participants = contract.data.participants
    if participants is not None and participants.has(spec.outcome):
        return participants.column(spec.outcome)
    return None


def _outcome_label(contract: Contract, spec: EvaluationSpec) -> dict[str, str] | None:
    column = _outcome_column(contract, spec)
    if column is None:
        return None
    shown = label_dict(column.label, column.name)
    if column.unit:
        shown = {k: f"{v} ({column.unit})" for k, v in shown.items()}
    return shown


def _unit(contract: Contract, spec: EvaluationSpec) -> str:
    """``money`` when the figure is an amount of money (the outcome is a money column),
    else ``number``."""
    column = _outcome_column(contract, spec)
    if column is not None and column.type == "money":
        return "money"
    if spec.method == "trend_adjusted" and spec.options.get("day_value") is not None:
        return "money"
    if spec.method == "rate_card":
        return "money"
    return "number"


def _shown(value: Any, unit: str) -> Any:
    return money(value) if unit == "money" else _number(value)


def estimate_block(estimate: Estimate, unit: str) -> dict[str, Any]:
    """The estimate with its one interval, as the settlement's evaluation computed it."""
    return {
        "value": _float(estimate.estimate),
        "ci_low": _float(estimate.ci_low),
        "ci_high": _float(estimate.ci_high),
        "shown": _shown(estimate.estimate, unit),
        "ci_low_shown": _shown(estimate.ci_low, unit),
        "ci_high_shown": _shown(estimate.ci_high, unit),
        "std_error": _float(estimate.std_error),
        "p_value": _float(estimate.p_value),
        "level": estimate.level,
        "ci_method": estimate.ci_method,
        "seed": estimate.seed,
        "n_treated": estimate.n_treated,
        "n_control": estimate.n_control,
        "n_obs": estimate.n_obs,
        "estimand": estimate.estimand,
        "unit": unit,
        "notes": list(estimate.notes),
    }


def _people(frame: pa.Table | None, by: str | None = None) -> dict[Any, tuple[int, int]]:
    """Distinct participants behind a frame, treated and not (per level of ``by``)."""
    if frame is None or IDENTITY_COLUMN not in frame.column_names:
        return {}
    if "treated" not in frame.column_names:
        frame = frame.append_column("treated", pa.array([1] * frame.num_rows, pa.int64()))
    keys = ["treated"] if by is None else [by, "treated"]
    if by is not None and by not in frame.column_names:
        return {}
    grouped = frame.group_by(keys).aggregate([(IDENTITY_COLUMN, "count_distinct")])
    out: dict[Any, list[int]] = {}
    levels = grouped.column(by).to_pylist() if by else [None] * grouped.num_rows
    for level, treated, count in zip(
        levels,
        grouped.column("treated").to_pylist(),
        grouped.column(f"{IDENTITY_COLUMN}_count_distinct").to_pylist(),
        strict=True,
    ):
        entry = out.setdefault(_level_key(level), [0, 0])
        entry[0 if treated == 1 else 1] += int(count)
    return {level: (counts[0], counts[1]) for level, counts in out.items()}


def _level_key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return str(value)
    return str(value)


def _groups(counted: tuple[int, int] | None, estimate: Estimate) -> tuple[int, int]:
    """The people behind an estimate, treated and not: the fewer of those in its rows and
    those the estimator says it used (a paired change uses only those measured twice)."""
    treated, control = counted if counted is not None else (0, 0)
    if counted is None:
        return estimate.n_treated or 0, estimate.n_control or 0
    if estimate.n_treated is not None:
        treated = min(treated, estimate.n_treated)
    if estimate.n_control is not None and control:
        control = min(control, estimate.n_control)
    return treated, control


def _cell(treated: int, control: int) -> int:
    """The smallest group behind a figure (a group of none does not count)."""
    groups = [n for n in (treated, control) if n]
    return min(groups) if groups else 0


def _levels_order(column: Column | None, levels: list[str]) -> list[str]:
    """Levels as the declaration orders them (choices as declared, numbers by value)."""
    if column is not None and column.choices:
        declared = list(column.choice_values)
        return sorted(
            levels, key=lambda v: (declared.index(v) if v in declared else len(declared), v)
        )
    try:
        return sorted(levels, key=lambda v: float(v))
    except ValueError:
        return sorted(levels)


def _level_label(column: Column | None, level: str) -> dict[str, str]:
    if column is not None and column.choices:
        return {"sv": column.choice_label(level, "sv"), "en": column.choice_label(level, "en")}
    if column is not None and column.type == "boolean":
        return dict(TEXT_LEVEL.get(level in ("True", "true", "1"), TEXT_LEVEL[False]))
    return {"sv": level, "en": level}


# --- subgroups and thresholds ------------------------------------------------------------


def _subgroup_rows(
    estimate: Estimate,
    column: Column | None,
    column_name: str,
    frame: pa.Table | None,
    unit: str,
) -> list[dict[str, Any]]:
    """One row per level of the subgroup column (in the declared order), each cell of
    fewer than five people suppressed, a lone one with the next smallest."""
    people = _people(frame, column_name)
    by_level = {str(s.label): s for s in estimate.subgroups}
    rows = []
    for level in _levels_order(column, list(by_level)):
        sub = by_level[level]
        treated, control = _groups(people.get(level), sub)
        rows.append(
            {
                "level": level,
                "label": _level_label(column, level),
                "n_treated": treated,
                "n_control": control,
                "cell": _cell(treated, control),
                "estimate": _float(sub.estimate),
                "ci_low": _float(sub.ci_low),
                "ci_high": _float(sub.ci_high),
                "shown": _shown(sub.estimate, unit),
                "ci_low_shown": _shown(sub.ci_low, unit),
                "ci_high_shown": _shown(sub.ci_high, unit),
            }
        )
    out = suppress_cells(rows, count="cell")
    for row in out:
        row.pop("cell", None)
    return out


def _declared_column(context: PanelContext, spec: EvaluationSpec, name: str) -> Column | None:
    for table in (context.contract.data.table(spec.data), context.contract.data.participants):
        if table is not None and table.has(name):
            return table.column(name)
    return None


def _subgroups(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate, unit: str
) -> list[dict[str, Any]]:
    """The subgroup tables of an evaluation: its own subgroup, or each declared subgroup of
    the participants through the engine (the same evaluation with ``subgroup`` set)."""
    participants = context.contract.data.participants
    tables: list[dict[str, Any]] = []
    if spec.subgroup and estimate.subgroups:
        column = _declared_column(context, spec, spec.subgroup)
        # A rate card counts the participants of each level itself (its subgroups' n).
        frame = None if spec.method == "rate_card" else context.frame(spec)
        tables.append(
            {
                "column": spec.subgroup,
                "label": label_dict(column.label if column else None, spec.subgroup),
                "rows": _subgroup_rows(estimate, column, spec.subgroup, frame, unit),
            }
        )
        return tables
    if participants is None:
        return tables
    frame = None
    for run_name, (evaluation, column, _spec) in context.subgroup_runs.items():
        if evaluation != name:
            continue
        result = context.estimates.get(run_name)
        label = label_dict(participants.column(column).label, column)
        if not isinstance(result, Estimate):
            # The error could name a level of a small group: it is not shown.
            tables.append({"column": column, "label": label, "error": "not_estimable"})
            continue
        if frame is None:
            frame = context.frame(spec)
        rows = _subgroup_rows(result, participants.column(column), column, frame, unit)
        if spec.method == "historical_reference":
            for row in rows:
                if not row[SUPPRESSED] and row["n_treated"]:
                    row["per_individual"] = money(row["estimate"] / row["n_treated"])
        tables.append({"column": column, "label": label, "rows": rows})
    return tables


def _bound(context: PanelContext, name: str, estimate: Estimate | None) -> list[dict[str, Any]]:
    """The inputs that take a figure of the evaluation, with the value the settlement took."""
    settled = context.settlement.get("inputs") or {}
    out = []
    for term in context.contract.inputs.values():
        if term.evaluate != name:
            continue
        take = term.take or "estimate"
        figure: Any = None
        if estimate is not None:
            try:
                figure = estimate.take(take)
            except KeyError:
                figure = None
        row: dict[str, Any] = {
            "input": term.name,
            "take": take,
            "type": term.type,
            "description": term.description or "",
            "value": settled.get(term.name),
            "settled": term.name in settled,
        }
        if isinstance(figure, (int, float)) and not isinstance(figure, bool):
            row["figure"] = _float(figure)
        elif isinstance(figure, (list, tuple)):
            row["figure"] = f"{len(figure)} values"
        if term.at_least is not None:
            row["at_least"] = str(term.at_least)
            if term.name in settled:
                row["met"] = settled[term.name] is True or settled[term.name] == "true"
            elif isinstance(figure, (int, float)) and not isinstance(figure, bool):
                row["met"] = Decimal(repr(float(figure))) >= term.at_least
        out.append(row)
    return out


# --- the panels --------------------------------------------------------------------------


def _cost_trajectory(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    extras = estimate.extras
    months = [int(m) for m in extras["months"]]
    counts = [int(n) for n in extras["included_by_month"]]
    rows = []
    hidden = False
    for i, month in enumerate(months):
        if not is_publishable(counts[i]):
            hidden = True
            continue
        rows.append(
            {
                "month": month,
                "n": counts[i],
                "expected": money(extras["expected_by_month"][i]),
                "observed": money(extras["observed_by_month"][i]),
                "saving": money(extras["saving_by_month"][i]),
                # After a month left out, a cumulative figure would give it away.
                "cumulative": None if hidden else money(extras["cumulative_by_month"][i]),
            }
        )
    options = method_options(spec)
    horizon = options.get("horizon")
    included = context.data.treated_included()
    projection = (
        _projection(estimate, included.num_rows if included is not None else 0)
        if horizon is not None
        else None
    )
    return {
        "monthly": rows,
        "figures": {
            "expected_cost": money(extras.get("expected_cost")),
            "observed_cost": money(extras.get("observed_cost")),
            "saving_positive_from_month": extras.get("break_even_month"),
            "saving_positive_from_month_ci": extras.get("break_even_month_ci"),
            "first_saving_month": extras.get("first_saving_month"),
            "trend": extras.get("trend"),
            "start_month": months[0] if months else None,
            "horizon": horizon,
            "reps": extras.get("reps"),
        },
        "projection": projection,
    }


def _projection(estimate: Estimate, included: int) -> dict[str, Any] | None:
    """The saving at the evaluation's horizon if every included individual were followed
    that long (decision 0401): each month's observed saving per individual, months nobody
    has reached yet at the mean of the last observed ones; the band is the estimate's
    interval widened by the individual-months projected over those observed."""
    extras = estimate.extras
    counts = np.asarray(extras["included_by_month"], dtype=np.float64)
    saving = np.asarray(extras["saving_by_month"], dtype=np.float64)
    if not len(counts):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        per_individual = np.where(counts > 0, saving / counts, np.nan)
    observed = per_individual[np.isfinite(per_individual)]
    tail = float(observed[-PROJECTION_TAIL_MONTHS:].mean()) if len(observed) else 0.0
    full = np.where(np.isfinite(per_individual), per_individual, tail)
    n = max(included, estimate.n_treated or 0)
    projected = float(full.sum() * n)
    exposure = float(counts.sum())
    factor = (n * len(counts)) / exposure if exposure else math.nan
    low = high = None
    if estimate.ci_low is not None and estimate.ci_high is not None and math.isfinite(factor):
        low = projected - (estimate.estimate - estimate.ci_low) * factor
        high = projected + (estimate.ci_high - estimate.estimate) * factor
    return {
        "value": money(projected),
        "low": money(low),
        "high": money(high),
        "months": len(counts),
        "individuals": int(n),
        "exposure_share": _number(exposure / (n * len(counts))) if n else None,
    }


def _calendar(contract: Contract, spec: EvaluationSpec) -> dt.date | None:
    """The first calendar month of the contract months of a trend-adjusted evaluation
    numbered within a contract period (``periods`` with ``time: period_month``)."""
    options = method_options(spec)
    name = str(options.get("contract_value", "contract"))
    if spec.time != "period_month" or name not in contract.periods:
        return None
    return contract.periods[name].start


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _expected_observed(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    """Expected (trend-adjusted) against observed per individual and month, with the saving
    per individual accumulated; a month counting fewer than five individuals in either
    period is left out (and the cumulative figure after it, which would give it away)."""
    monthly = estimate.extras.get("monthly") or {}
    months = [int(m) for m in monthly.get("month", [])]
    expected = np.asarray(monthly.get("expected_days_per_employee", []), dtype=np.float64)
    observed = np.asarray(monthly.get("observed_days_per_employee", []), dtype=np.float64)
    reference_heads = monthly.get("reference_headcount", [])
    contract_heads = monthly.get("contract_headcount", [])
    start = _calendar(context.contract, spec)
    cumulative = np.cumsum(expected - observed) if months else np.asarray([])
    rows = []
    hidden = False
    for i, month in enumerate(months):
        if not (is_publishable(int(reference_heads[i])) and is_publishable(int(contract_heads[i]))):
            hidden = True
            continue
        rows.append(
            {
                "month": month,
                "calendar": _add_months(start, month - 1).isoformat() if start else None,
                "trend_ratio": _number(monthly["trend_weight"][i]),
                "expected": _number(expected[i]),
                "observed": _number(observed[i]),
                "saving": _number(expected[i] - observed[i]),
                "cumulative": None if hidden else _number(cumulative[i]),
                # The people behind the month's means: what a later release is compared by.
                "n_contract": int(contract_heads[i]),
                "n_reference": int(reference_heads[i]),
            }
        )
    positive_from = (
        stays_non_negative_from([float(v) for v in cumulative], months) if months else None
    )
    return {
        "monthly": rows,
        "figures": {
            "months_observed": len(months),
            "saving_positive_from_month": positive_from,
        },
    }


def _before_after(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    extras = estimate.extras
    figures: dict[str, Any] = {}
    if spec.method == "pre_post":
        n = int(estimate.n_treated or 0)
        figures.update(
            baseline=extras.get("baseline"),
            follow_up=extras.get("follow_up"),
            mean_before=_number(extras.get("mean_baseline"), 2),
            mean_after=_number(extras.get("mean_follow_up"), 2),
            effect_size=_number(extras.get("cohens_dz"), 2),
        )
        if "n_reliably_improved" in extras:
            improved = int(extras["n_reliably_improved"])
            deteriorated = int(extras["n_reliably_deteriorated"])
            figures.update(
                share_reliably_improved=_number(publishable_share(improved, n)),
                share_reliably_deteriorated=_number(publishable_share(deteriorated, n)),
            )
    else:
        means = extras.get("cell_means") or {}
        treatment, post = spec.treatment or "treated", spec.post or "post"

        def cell(group: int, period: int) -> float | None:
            return _number(means.get(f"{treatment}={group},{post}={period}"), 2)

        figures.update(
            treated_before=cell(1, 0),
            treated_after=cell(1, 1),
            control_before=cell(0, 0),
            control_after=cell(0, 1),
        )
    return {"figures": figures}


def _party_name(contract: Contract, value: str) -> dict[str, str] | None:
    try:
        party = contract.party(value)
    except KeyError:
        return None
    return {"sv": party.name, "en": party.name}


def _aggregate(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    extras = estimate.extras
    unit = _unit(context.contract, spec)
    levels = extras.get("levels")
    figures: dict[str, Any] = {
        "statistic": estimate.estimand,
        "rows": extras.get("rows"),
    }
    out: dict[str, Any] = {"figures": figures}
    value = extras.get("value")
    if levels is None:
        figures["value"] = value if unit != "money" else money(value)
        return out
    by = method_options(spec).get("by")
    table = context.contract.data.table(spec.data)
    column = table.column(by) if by and table.has(by) else None
    rows = []
    for level, item in zip(levels, value or [], strict=False):
        label = None
        if column is not None and column.type == "reference":
            label = _party_name(context.contract, str(level))
        rows.append(
            {
                "level": str(level),
                "label": label or _level_label(column, str(level)),
                "value": item if unit != "money" else money(item),
                "number": _number(item, 6),
            }
        )
    out["levels"] = rows
    return out


def _series_in(extras: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every list of numbers among an estimate's figures (and in its tables of figures)."""
    found = []

    def numbers(values: Any) -> list[float] | None:
        if not isinstance(values, (list, tuple)) or len(values) < 2:
            return None
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return None
        return [_number(v, 6) for v in values]  # type: ignore[misc]

    for key, value in extras.items():
        series = numbers(value)
        if series is not None:
            found.append({"name": key, "values": series})
        elif isinstance(value, dict):
            for inner, values in value.items():
                series = numbers(values)
                if series is not None:
                    found.append({"name": f"{key}.{inner}", "values": series})
    return found


def _named_figures(estimate: Estimate) -> list[dict[str, Any]]:
    """Every single number among the estimate's named figures (its extras), as the method
    names them: what a contract input may ``take``."""
    out = []
    for key, value in estimate.extras.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        if isinstance(value, str):
            try:
                number: Any = Decimal(value)
            except ArithmeticError:
                continue
            out.append({"name": key, "value": value, "number": _number(number, 6)})
            continue
        out.append({"name": key, "value": _number(value, 6), "number": _number(value, 6)})
    return out


def _estimate_panel(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    return {"figures": {}, "series": _series_in(estimate.extras)}


def event_study_block(estimate: Estimate) -> dict[str, Any] | None:
    """The event study of an estimate (the shared ``extras`` interface), rounded."""
    rows = estimate.extras.get("event_study")
    if not isinstance(rows, list) or not rows:
        return None
    test = estimate.extras.get("pre_trend_test")
    return {
        "rows": [
            {
                "relative_period": int(row["relative_period"]),
                "estimate": _number(row.get("estimate"), 6),
                "std_error": _number(row.get("std_error"), 6),
                "ci_low": _number(row.get("ci_low"), 6),
                "ci_high": _number(row.get("ci_high"), 6),
            }
            for row in rows
        ],
        "reference": estimate.extras.get("event_study_reference"),
        "level": estimate.level,
        "pre_trend_test": (
            {
                "statistic": _number(test.get("statistic"), 6),
                "df": test.get("df"),
                "p_value": _number(test.get("p_value"), 6),
            }
            if isinstance(test, dict)
            else None
        ),
    }


def _event_study_panel(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    return {"figures": {}, "series": []}


def _small(count: Any) -> bool:
    """A count of 1–4 people (0 describes nobody and is shown)."""
    return isinstance(count, int) and 0 < count < MIN_CELL


def _funnel(
    context: PanelContext, name: str, spec: EvaluationSpec, estimate: Estimate
) -> dict[str, Any]:
    """The outcome funnel: included participants and each outcome's cumulative count by
    month, what is earned so far against the total cap, the count and value per outcome and
    the events not counted, by reason (the rate card's extras). A count of 1–4 people is
    not shown, nor anything it could be read from (the outcome's value, the month's
    earnings); a lone hidden outcome takes the next smallest with it."""
    extras = estimate.extras
    options = method_options(spec)
    table = context.contract.data.table(spec.data)
    outcome_column = str(options.get("outcome_column", "outcome"))
    column = table.column(outcome_column) if table.has(outcome_column) else None
    names = list(options.get("outcomes", {}))
    counts = extras.get("counts") or {}
    achieved = extras.get("achieved") or {}
    values = extras.get("values_sek") or {}
    sizes = [counts.get(o) for o in names]
    hidden = {i for i, count in enumerate(sizes) if _small(count)}
    extra = complementary_cell(sizes, hidden)
    if extra is not None:
        hidden.add(extra)
    outcomes = []
    for i, outcome in enumerate(names):
        row: dict[str, Any] = {
            "outcome": outcome,
            "label": _level_label(column, outcome),
            SUPPRESSED: i in hidden,
        }
        if i not in hidden:
            row.update(
                count=counts.get(outcome),
                achieved=None if _small(achieved.get(outcome)) else achieved.get(outcome),
                value=money(values.get(outcome)) if outcome in values else None,
            )
        outcomes.append(row)
    funnel = extras.get("funnel") or {}
    months = funnel.get("month") or []
    included = funnel.get("included") or []
    by_outcome = funnel.get("outcomes") or {}
    earned = funnel.get("earned_sek") or []
    cap = extras.get("cap_total_sek")
    rows = []
    for i, month in enumerate(months):
        row = {"month": str(month)}
        cells = [("included", included[i] if i < len(included) else None)]
        cells += [(o, (by_outcome.get(o) or [None] * len(months))[i]) for o in names]
        small = False
        for key, count in cells:
            small = small or _small(count)
            row[key] = None if _small(count) else count
        row["earned"] = None if small or i >= len(earned) else money(earned[i])
        row["cap"] = money(cap) if cap is not None else None
        rows.append(row)
    total = extras.get("value_sek")
    uncounted = [
        {"reason": reason, "label": _reason_label(reason), "events": count}
        for reason, count in (extras.get("uncounted") or {}).items()
        if count
    ]
    return {
        "figures": {
            "earned": money(total),
            "earned_before_caps": money(extras.get("value_before_caps_sek")),
            "cap": money(cap) if cap is not None else None,
            "cap_used": _number(Decimal(str(total)) / Decimal(str(cap)))
            if cap is not None and total is not None and Decimal(str(cap)) != 0
            else None,
            "participants_included": None
            if _small(extras.get("participants_included"))
            else extras.get("participants_included"),
            "participants_paid": None
            if _small(extras.get("participants_paid"))
            else extras.get("participants_paid"),
            "events": extras.get("events"),
        },
        "outcomes": outcomes,
        "funnel": rows,
        "funnel_keys": [
            {"key": "included", "label": None},
            *({"key": o, "label": _level_label(column, o)} for o in names),
        ],
        "uncounted": uncounted,
    }


def _reason_label(reason: str) -> dict[str, str]:
    from utfall.core.evaluation.rate_card import REASON_LABELS

    sv, en = REASON_LABELS.get(reason, (reason, reason))
    return {"sv": sv, "en": en}


BUILDERS = {
    "cost_trajectory": _cost_trajectory,
    "expected_observed": _expected_observed,
    "funnel": _funnel,
    "before_after": _before_after,
    "aggregate": _aggregate,
    "estimate": _estimate_panel,
    "event_study": _event_study_panel,
}


def _slug(name: str) -> str:
    return name.replace("_", "-")


def _suppressed(
    context: PanelContext, spec: EvaluationSpec, estimate: Estimate
) -> tuple[bool, int | None, int | None]:
    """Whether the figure describes a group of fewer than five people, and the groups."""
    table = context.contract.data.table(spec.data)
    if spec.method == "rate_card":
        included = estimate.n_treated
        return _small(included), included, None
    if not table.per_participant:
        return False, None, None
    people = _people(context.frame(spec)).get(None)
    if people is None:
        return False, None, None
    treated, control = _groups(people, estimate)
    return not is_publishable(_cell(treated, control)), treated, control


def _description(document: Any) -> dict[str, str] | str | None:
    """An evaluation's description: ``{"sv", "en"}`` when the contract declares it in
    both languages (``summary``), else its one-language ``description``."""
    if document is None:
        return None
    summary = getattr(document, "summary", None)
    if summary is None:
        return document.description
    english = summary.en or document.description or summary.sv
    return {"sv": " ".join(summary.sv.split()), "en": " ".join(str(english).split())}


def evaluation_panels(context: PanelContext) -> list[dict[str, Any]]:
    """One panel per evaluation of the contract, in the contract's order."""
    contract = context.contract
    bound = contract.bound_evaluations()
    documents = contract.document.evaluations
    panels = []
    for name, spec in contract.evaluations.items():
        document = documents.get(name)
        declared = contract.data.table(spec.data)
        kind = KINDS.get(spec.method, "estimate")
        panel: dict[str, Any] = {
            "id": _slug(name),
            "evaluation": name,
            "method": spec.method,
            "kind": kind,
            "label": label_dict(document.label if document else None, name)
            if document and document.label
            else {"sv": name, "en": name},
            # {"sv", "en"} when the contract declares both, else its one description.
            "description": _description(document),
            "table": spec.data,
            "table_label": label_dict(declared.label, spec.data),
            "outcome": spec.outcome,
            "outcome_label": _outcome_label(contract, spec),
            "outcome_unit": getattr(_outcome_column(contract, spec), "unit", None),
            "paid": name in bound,
            "status": "ok",
        }
        result = context.estimates.get(name)
        if isinstance(result, BaseException) or result is None:
            panel["status"] = "waiting" if isinstance(result, TableMissing) else "error"
            panel["error"] = error_dict(result) if result is not None else None
            panel["bound"] = _bound(context, name, None)
            panels.append(panel)
            continue
        unit = _unit(contract, spec)
        hidden, treated, control = _suppressed(context, spec, result)
        panel["people"] = {"treated": treated, "control": control}
        panel["bound"] = _bound(context, name, result)
        if hidden:
            # The figure describes fewer than five people: not shown (the settlement
            # section still shows what the contract takes from it).
            panel["status"] = SUPPRESSED
            panel["people"] = {"treated": None, "control": None}
            panels.append(panel)
            continue
        panel["estimate"] = estimate_block(result, unit)
        sensitivity = result.extras.get("sensitivity")
        if panel["paid"] and isinstance(sensitivity, dict):
            panel["sensitivity"] = sensitivity  # shown by council/_sensitivity.html
        event_study = event_study_block(result)
        if event_study is not None:
            panel["event_study"] = event_study
            if kind == "estimate":
                kind = panel["kind"] = "event_study"
        panel.update(BUILDERS[kind](context, name, spec, result))
        panel["named"] = _named_figures(result)
        panel["subgroups"] = _subgroups(context, name, spec, result, unit)
        panels.append(panel)
    return panels


def output_series(context: PanelContext) -> list[dict[str, Any]]:
    """Every series among the settlement's outputs, for a line chart each."""
    settlement = context.settlement
    if settlement.get("error"):
        return []
    out = []
    for output in settlement.get("outputs", []):
        if output["type"] != "series" or not isinstance(output["value"], list):
            continue
        values = output["value"]
        out.append(
            {
                "name": output["name"],
                "description": output["description"],
                "of": output.get("of"),
                "points": [
                    {"position": i + 1, "value": _number(v, 6), "shown": v}
                    for i, v in enumerate(values)
                ],
            }
        )
    return out
