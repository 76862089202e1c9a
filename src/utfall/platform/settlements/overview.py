"""The financier's view before (and after) a settlement: what the cost reports already give,
the default distributions of the simulation, the expected payout with its band, and the
charts of the finance tab.

Reads only; every figure comes from the one pipeline (``utfall.services.finance``,
``utfall.services.bindings``). The charts are Vega-Lite specs built with Altair on the
server, drawn by the vendored vega-embed with the active language's format locale
(``utfall.services.formatting.vega_format_locale``), as the council's charts are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.utils.translation import gettext as _

from utfall.platform.contracts.models import Contract
from utfall.platform.permissions import Action, require
from utfall.platform.settlements import selectors
from utfall.platform.settlements.presentation import current_language, term_label

__all__ = [
    "Distribution",
    "default_distributions",
    "expected_payout",
    "finance_charts",
    "inputs_from_cost_reports",
    "simulation_chart",
]

WIDTH = 640
HEIGHT = 240
COLOURS = ["#1f5f8b", "#c8553d", "#3a7d44", "#8e6c8a", "#d9a404", "#5b5b5b"]
KINDS = ("normal", "uniform", "fixed")


class Distribution:
    """One row of the simulation form: an input and how its value is drawn."""

    def __init__(self, name: str, kind: str, first: Decimal, second: Decimal | None = None):
        self.name, self.kind, self.first, self.second = name, kind, first, second

    def text(self) -> str:
        """The distribution as the Monte Carlo reads it (``NAME=normal(MEAN, SD)``)."""
        if self.kind == "fixed":
            return f"{self.name}=fixed({self.first:f})"
        return f"{self.name}={self.kind}({self.first:f}, {self.second or 0:f})"

    def __repr__(self) -> str:
        return f"Distribution({self.text()!r})"


def _invested_inputs(document: Any, loaded: Any, manual: list[Any]) -> list[str]:
    """The entered money inputs that are the invested amount: the plan's ``invested`` term,
    or the one entered money input its formula reads (``min(drawn_amount, cap)``)."""
    invested = loaded.document.invested
    money = {t.name for t in manual if t.type == "money"}
    if not invested:
        return []
    if invested in money:
        return [invested]
    output = document.outputs.get(invested) if hasattr(document, "outputs") else None
    compiled = getattr(output, "compiled", None)
    read = sorted(set(getattr(compiled, "names", ())) & money)
    return read if len(read) == 1 else []


def inputs_from_cost_reports(
    *, contract: Contract, document: Any, manual: list[Any], until: dt.date | None = None
) -> dict[str, tuple[Decimal, str]]:
    """Entered inputs the stored cost reports already give, with the reason to prefill:
    the amount drawn against the cost reports (to ``until``) for the invested amount."""
    from utfall.services.finance import finance_drawdowns

    plan = selectors.finance_plan_latest(contract)
    if plan is None or not manual:
        return {}
    try:
        loaded = selectors._finance_plan(plan, document)
        names = _invested_inputs(document, loaded, manual)
        if not names:
            return {}
        report = finance_drawdowns(
            document, loaded, tables=selectors._plan_tables(contract, loaded, document)
        )
    except Exception:  # a plan that does not fit the contract: nothing to prefill
        return {}
    rows = [d for d in report.drawdowns if until is None or d.date <= until]
    if not rows:
        return {}
    drawn = rows[-1].cumulative_drawn
    day = rows[-1].date.isoformat()
    reason = _("Drawn against the cost reports up to %(day)s (%(count)s reports).") % {
        "day": day,
        "count": len(rows),
    }
    return {name: (drawn, reason) for name in names}


def _key(contract: Contract, document: Any) -> str:
    from utfall.platform.tables import StoredTables

    stored = StoredTables(contract)
    digests = []
    for name in sorted({t for t in _bound_tables(document)}):
        digests.append(f"{name}:{stored.digest(name) if stored.has(name) else '-'}")
    text = "|".join([str(contract.pk), str(document.id), *digests, dt.date.today().isoformat()])
    return "utfall.settlements.defaults." + hashlib.sha256(text.encode()).hexdigest()[:32]


def _bound_tables(document: Any) -> list[str]:
    from utfall.services.bindings import evaluation_tables

    names: list[str] = []
    for evaluation in document.bound_evaluations():
        names.extend(evaluation_tables(document, document.evaluations[evaluation]))
    return names


def default_distributions(*, contract: Contract, document: Any) -> list[Distribution]:
    """The simulation's distributions when none is typed: each bound input's evaluation on
    the data stored so far, as ``normal(value, standard error)`` (the error scaled from the
    estimate to the figure taken) or ``fixed(value)`` where there is no error (decision
    0836). Cached by the tables' content and the day: the evaluations are the slow part."""
    from utfall.platform.tables import StoredTables
    from utfall.services.bindings import inputs_evaluate

    manual = [t for t in document.inputs.values() if not t.evaluate]
    given = inputs_from_cost_reports(contract=contract, document=document, manual=manual)
    entered = [Distribution(name, "fixed", value) for name, (value, _why) in given.items()]
    if not document.bound_evaluations():
        return entered
    key = _key(contract, document)
    cached = cache.get(key)
    if cached is not None:
        return [Distribution(*row) for row in cached] + entered
    bound = inputs_evaluate(document, StoredTables(contract), until=dt.date.today())
    rows: list[tuple[Any, ...]] = []
    for name, value in bound.values.items():
        term = document.inputs[name]
        if term.type == "boolean":
            rows.append((name, "fixed", Decimal(1 if value else 0)))
            continue
        if not isinstance(value, Decimal):
            continue
        estimate = bound.estimates[name]
        error = estimate.std_error
        scale = Decimal(1)
        if estimate.estimate not in (None, 0) and error is not None:
            scale = abs(value / Decimal(str(estimate.estimate)))
        if error is None or error != error or error <= 0:
            rows.append((name, "fixed", value))
        else:
            sd = (Decimal(str(error)) * scale).quantize(Decimal("0.01"))
            rows.append((name, "normal", value, sd))
    cache.set(key, rows, timeout=3600)
    return [Distribution(*row) for row in rows] + entered


def expected_payout(
    *,
    user: AbstractBaseUser,
    contract: Contract,
    distributions: list[Distribution] | None = None,
    size: int = 20_000,
    seed: int = 2016,
) -> dict[str, Any]:
    """The simulated payout to the financier (mean and the 5–95 % band), with the
    distributions it used (the defaults when none is given)."""
    require(user, Action.VIEW_SETTLEMENTS, contract)
    document = selectors._newest_document(contract)
    if distributions is None:
        distributions = default_distributions(contract=contract, document=document)
    elif selectors._basis(contract) is None:
        # Before a statement the inputs not typed are drawn as the evaluations give them.
        typed = {d.name for d in distributions}
        defaults = default_distributions(contract=contract, document=document)
        distributions = [*distributions, *(d for d in defaults if d.name not in typed)]
    outcome = selectors.finance_simulation(
        user=user,
        contract=contract,
        distributions=[_text(d, document) for d in distributions],
        size=size,
        seed=seed,
    )
    return {"outcome": outcome, "distributions": distributions, "document": document}


def _text(distribution: Distribution, document: Any) -> str:
    """A distribution as the Monte Carlo reads it; a yes/no input fixed at 1 or 0 is ``true``
    or ``false``, and its mean between 0 and 1 (normal or uniform) a probability."""
    term = document.inputs.get(distribution.name)
    if term is None or term.type != "boolean":
        return distribution.text()
    if distribution.kind == "fixed":
        value = "true" if distribution.first >= Decimal("0.5") else "false"
        return f"{distribution.name}={value}"
    share = min(max(distribution.first, Decimal(0)), Decimal(1))
    return f"{distribution.name}=bernoulli({share:f})"


# Charts ------------------------------------------------------------------------------------


def _spec(chart: alt.Chart | alt.LayerChart, language: str) -> dict[str, Any]:
    spec: dict[str, Any] = chart.properties(width="container", height=HEIGHT).to_dict()
    spec["usermeta"] = {"language": language}
    return spec


def _money_axis(title: str) -> alt.Y:
    return alt.Y("value:Q", title=title, axis=alt.Axis(format=",.0f"))


def finance_charts(finance: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The finance tab's charts: drawdowns over time (drawn in total against the
    commitment), the drawn amount by cost category, and the financier's dated flows."""
    language = current_language()
    report = finance["report"]
    charts: list[dict[str, Any]] = []
    rows = [
        {
            "date": d.date.isoformat(),
            _("Drawn in total"): float(d.cumulative_drawn),
            _("Remaining"): float(d.remaining),
        }
        for d in report.drawdowns
    ]
    if rows:
        frame = pd.DataFrame(rows)
        series = [_("Drawn in total"), _("Remaining")]
        chart = (
            alt.Chart(frame)
            .transform_fold(series, as_=["series", "value"])
            .mark_line(point=True)
            .encode(
                x=alt.X("date:T", title=_("Date"), axis=alt.Axis(format="%Y-%m")),
                y=_money_axis(_("SEK")),
                color=alt.Color(
                    "series:N",
                    title=None,
                    scale=alt.Scale(domain=series, range=COLOURS),
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=[
                    alt.Tooltip("date:T", title=_("Date"), format="%Y-%m-%d"),
                    alt.Tooltip("series:N", title=_("Figure")),
                    alt.Tooltip("value:Q", title=_("SEK"), format=",.0f"),
                ],
            )
        )
        charts.append({"id": "chart-drawdowns", "spec": _spec(chart, language)})
    by_category = [
        {"date": d.date.isoformat(), "category": names.get(c, c), "value": float(amount)}
        for d in report.drawdowns
        for c, amount in d.reported_by_category.items()
    ]
    if by_category:
        chart = (
            alt.Chart(pd.DataFrame(by_category))
            .mark_bar()
            .encode(
                x=alt.X("date:T", title=_("Date"), axis=alt.Axis(format="%Y-%m")),
                y=alt.Y("sum(value):Q", title=_("Reported (SEK)"), axis=alt.Axis(format=",.0f")),
                color=alt.Color(
                    "category:N",
                    title=None,
                    scale=alt.Scale(range=COLOURS),
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=[
                    alt.Tooltip("date:T", title=_("Date"), format="%Y-%m-%d"),
                    alt.Tooltip("category:N", title=_("Cost category")),
                    alt.Tooltip("sum(value):Q", title=_("SEK"), format=",.0f"),
                ],
            )
        )
        charts.append({"id": "chart-categories", "spec": _spec(chart, language)})
    flows = [
        {"date": day.isoformat(), "value": float(amount)} for day, amount in report.financier_flows
    ]
    if flows:
        frame = pd.DataFrame(flows)
        frame["cumulative"] = frame["value"].cumsum()
        base = alt.Chart(frame).encode(
            x=alt.X("date:T", title=_("Date"), axis=alt.Axis(format="%Y-%m"))
        )
        bars = base.mark_bar(color=COLOURS[0]).encode(
            y=alt.Y("value:Q", title=_("SEK"), axis=alt.Axis(format=",.0f")),
            tooltip=[
                alt.Tooltip("date:T", title=_("Date"), format="%Y-%m-%d"),
                alt.Tooltip("value:Q", title=_("Flow (SEK)"), format=",.0f"),
                alt.Tooltip("cumulative:Q", title=_("In total (SEK)"), format=",.0f"),
            ],
        )
        line = base.mark_line(color=COLOURS[1]).encode(y="cumulative:Q")
        charts.append({"id": "chart-flows", "spec": _spec(alt.layer(bars, line), language)})
    totals = [
        {"party": names.get(party, party), "direction": direction, "value": float(amount)}
        for party, inflow, outflow in finance["totals"]
        for direction, amount in ((_("In"), inflow), (_("Out"), outflow))
    ]
    if totals:
        chart = (
            alt.Chart(pd.DataFrame(totals))
            .mark_bar()
            .encode(
                y=alt.Y("party:N", title=None),
                x=alt.X("value:Q", title=_("SEK"), axis=alt.Axis(format=",.0f")),
                yOffset="direction:N",
                color=alt.Color(
                    "direction:N",
                    title=None,
                    scale=alt.Scale(range=COLOURS),
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=[
                    alt.Tooltip("party:N", title=_("Party")),
                    alt.Tooltip("direction:N", title=_("Direction")),
                    alt.Tooltip("value:Q", title=_("SEK"), format=",.0f"),
                ],
            )
        )
        charts.append({"id": "chart-totals", "spec": _spec(chart, language)})
    return charts


def simulation_chart(outcome: Any) -> dict[str, Any] | None:
    """The payout to the financier: mean with the 5–95 % and 25–75 % bands."""
    summary = getattr(outcome, "to_financier", None)
    if summary is None:
        return None
    language = current_language()
    frame = pd.DataFrame(
        [
            {
                "figure": _("Paid to the financier"),
                "p5": summary.p5,
                "p25": summary.p25,
                "median": summary.median,
                "mean": summary.mean,
                "p75": summary.p75,
                "p95": summary.p95,
            }
        ]
    )
    base = alt.Chart(frame).encode(y=alt.Y("figure:N", title=None))
    axis = alt.Axis(format=",.0f")
    outer = base.mark_rule(color=COLOURS[0], strokeWidth=2).encode(
        x=alt.X("p5:Q", title=_("SEK"), axis=axis), x2="p95:Q"
    )
    inner = base.mark_bar(color=COLOURS[0], opacity=0.5, size=18).encode(x="p25:Q", x2="p75:Q")
    mean = base.mark_point(color=COLOURS[1], size=120, filled=True).encode(
        x="mean:Q",
        tooltip=[
            alt.Tooltip("mean:Q", title=_("Mean"), format=",.0f"),
            alt.Tooltip("p5:Q", title="5 %", format=",.0f"),
            alt.Tooltip("median:Q", title=_("Median"), format=",.0f"),
            alt.Tooltip("p95:Q", title="95 %", format=",.0f"),
        ],
    )
    spec = alt.layer(outer, inner, mean).properties(width="container", height=80).to_dict()
    return {
        "id": "chart-simulation",
        "spec": spec,
        "json": json.dumps(spec, ensure_ascii=False),
        "language": language,
    }


def party_names(contract: Contract, document: Any) -> dict[str, str]:
    """The contract's party codes (``lsv``) as their names."""
    return {p.id: getattr(p, "name", p.id) or p.id for p in getattr(document, "parties", ())}


def input_choices(document: Any) -> list[tuple[str, str]]:
    """The contract's inputs as (name, label) for the simulation form's select."""
    return [(name, term_label(document, "input", name)) for name in document.inputs]
