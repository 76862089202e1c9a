"""The fund's portfolio: learning across the constellations (seed 003, phases 3 and 4).

Seed 003 asks for "viss enhetlighet i hur insatser och målgruppers förflyttning följs upp
i de olika konstellationerna" (a common follow-up and evaluation protocol, phase 3) so that
results are comparable. This module lays the protocol's indicators side by side: per
indicator of the library that constellations report, each constellation's baseline, its
six-monthly values and the effect the evaluator's statement computed against the baseline
with its 95 % interval (decision 0504: the figures stored on the report lines by
``services.report_evaluate``; nothing is estimated here), and what each constellation was
promised and paid.

Small cells are withheld by the knowledge platform's rule (decision 0503,
:func:`utfall.services.knowledge.suppress_results`): per indicator and period the
constellations are the groups and the fund's total over them the total, so a lone withheld
constellation takes the next smallest with it. An effect is withheld when a value it rests
on is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from utfall.core.fund import PaymentKind
from utfall.platform.fund.labels import indicator_name
from utfall.platform.fund.models import (
    Constellation,
    Direction,
    Fund,
    Indicator,
    OutcomePayment,
    OutcomeReport,
)
from utfall.platform.fund.selectors import fund_state
from utfall.services.knowledge import TOTAL_GROUP, ResultRow, suppress_results

__all__ = [
    "Cell",
    "ConstellationLine",
    "Effect",
    "IndicatorSection",
    "PaymentLine",
    "Portfolio",
    "chart_items",
    "effect_chart",
    "portfolio_of",
    "share_chart",
]

# The baseline column's key: every constellation's baseline is compared with the others'
# (their dates may differ), so one key stands for all of them.
BASELINE = (date.min, date.min)
HUNDRED = Decimal(100)
# vl-convert measures the labels with its own font and the PDF draws them with another: a
# margin keeps a long constellation name from being cut at the edge.
PADDING = {"left": 24, "right": 12, "top": 6, "bottom": 6}


@dataclass(frozen=True)
class Cell:
    """Of ``n`` individuals ``count`` meet the indicator; no figures when withheld."""

    n: int | None = None
    count: int | None = None
    withheld: bool = False
    reported: bool = True

    @property
    def share(self) -> Decimal | None:
        """The share meeting the indicator (0–1), or None when withheld or not reported."""
        if self.withheld or not self.reported or not self.n or self.count is None:
            return None
        return Decimal(self.count) / Decimal(self.n)


NOT_REPORTED = Cell(reported=False)


@dataclass(frozen=True)
class Effect:
    """The statement's change against the baseline in the indicator's good direction (a
    share, e.g. 0.05 = 5 percentage points) with its 95 % interval; ``status`` says why
    there is none: ``followed`` (the contract does not pay on it), ``pending`` (no report
    evaluated yet), ``withheld`` (a small cell)."""

    status: str
    change: Decimal | None = None
    ci_low: Decimal | None = None
    ci_high: Decimal | None = None
    period_end: date | None = None


@dataclass
class ConstellationLine:
    """One constellation's values of one indicator."""

    constellation: Constellation
    baseline: Cell
    values: list[Cell]
    effect: Effect

    @property
    def label(self) -> str:
        return f"{self.constellation.code} {self.constellation.application.constellation_name}"


@dataclass
class IndicatorSection:
    """One indicator: its periods (columns), the constellations (rows) and the total."""

    indicator: Indicator
    periods: list[tuple[date, date]]
    lines: list[ConstellationLine]
    total_baseline: Cell
    totals: list[Cell]

    @property
    def name(self) -> str:
        return indicator_name(self.indicator)

    @property
    def lower_is_better(self) -> bool:
        return bool(self.indicator.direction == Direction.LOWER)


@dataclass
class PaymentLine:
    """Outcome payments achieved against intended for one constellation."""

    constellation: Constellation
    applied_for: Decimal
    committed: Decimal
    outcome_value: Decimal | None
    paid: Decimal

    @property
    def paid_share(self) -> Decimal | None:
        """Paid as a share of the commitment (0–1)."""
        return self.paid / self.committed if self.committed else None


@dataclass
class Portfolio:
    """The fund's portfolio, figures withheld where a cell is small."""

    sections: list[IndicatorSection] = field(default_factory=list)
    payments: list[PaymentLine] = field(default_factory=list)
    withheld: int = 0

    @property
    def payment_totals(self) -> dict[str, Decimal]:
        return {
            key: sum((getattr(p, key) for p in self.payments), Decimal("0.00"))
            for key in ("applied_for", "committed", "paid")
        }


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _effect(line: Any, period_end: date) -> Effect:
    evaluation = line.evaluation or {}
    if evaluation.get("followed"):
        return Effect("followed", period_end=period_end)
    return Effect(
        "evaluated",
        _decimal(evaluation.get("change_in_good_direction")),
        _decimal(evaluation.get("ci_low")),
        _decimal(evaluation.get("ci_high")),
        period_end,
    )


def portfolio_of(fund: Fund) -> Portfolio:
    """The portfolio of ``fund``: per indicator its constellations' values and effects, and
    per constellation its outcome payments against what it applied for and was promised."""
    constellations = list(
        Constellation.objects.filter(application__call__fund=fund)
        .select_related("application")
        .prefetch_related("application__outcomes__indicator")
        .order_by("code")
    )
    reports = list(
        OutcomeReport.objects.filter(constellation__in=constellations)
        .prefetch_related("lines__indicator")
        .order_by("constellation__code", "period_start")
    )
    # (indicator, constellation) → baseline line, [(report, line)] six-monthly.
    baselines: dict[tuple[int, int], Any] = {}
    series: dict[tuple[int, int], list[tuple[OutcomeReport, Any]]] = defaultdict(list)
    indicators: dict[int, Indicator] = {}
    members: dict[int, set[int]] = defaultdict(set)
    for constellation in constellations:
        for outcome in constellation.application.outcomes.all():
            indicators[outcome.indicator.pk] = outcome.indicator
            members[outcome.indicator.pk].add(constellation.pk)
    for report in reports:
        for line in report.lines.all():
            key = (line.indicator_id, report.constellation_id)
            indicators[line.indicator_id] = line.indicator
            members[line.indicator_id].add(report.constellation_id)
            if report.is_baseline:
                baselines[key] = line
            else:
                series[key].append((report, line))

    # One result row per cell; suppress_results decides which are withheld.
    rows: list[ResultRow] = []
    totals: dict[tuple[int, tuple[date, date]], list[int]] = defaultdict(lambda: [0, 0])
    for (indicator_id, constellation_id), line in baselines.items():
        rows.append(_row(indicator_id, BASELINE, line, constellation_id))
        totals[(indicator_id, BASELINE)][0] += line.n
        totals[(indicator_id, BASELINE)][1] += line.count
    for (indicator_id, constellation_id), entries in series.items():
        for report, line in entries:
            period = (report.period_start, report.period_end)
            rows.append(_row(indicator_id, period, line, constellation_id))
            totals[(indicator_id, period)][0] += line.n
            totals[(indicator_id, period)][1] += line.count
    for (indicator_id, period), (n, count) in totals.items():
        rows.append(ResultRow(str(indicator_id), period[0], period[1], n, count, TOTAL_GROUP))
    withheld = {
        (result.row.outcome_metric_id, result.row.period_start, result.row.group)
        for result in suppress_results(rows)
        if result.suppressed
    }

    def cell(indicator_id: int, period: tuple[date, date], group: str, n: int, count: int) -> Cell:
        if (str(indicator_id), period[0], group) in withheld:
            return Cell(withheld=True)
        return Cell(n, count)

    by_pk = {c.pk: c for c in constellations}
    sections = []
    for indicator_id in sorted(indicators, key=lambda pk: (-len(members[pk]), pk)):
        periods = sorted(
            {
                (report.period_start, report.period_end)
                for (ind, _c), entries in series.items()
                if ind == indicator_id
                for report, _line in entries
            }
        )
        lines = []
        for constellation_id in sorted(members[indicator_id], key=lambda pk: by_pk[pk].code):
            key = (indicator_id, constellation_id)
            group = str(constellation_id)
            base = baselines.get(key)
            baseline = (
                cell(indicator_id, BASELINE, group, base.n, base.count) if base else NOT_REPORTED
            )
            reported = {(r.period_start, r.period_end): line for r, line in series.get(key, [])}
            values = [
                cell(indicator_id, period, group, reported[period].n, reported[period].count)
                if period in reported
                else NOT_REPORTED
                for period in periods
            ]
            effect = Effect("pending")
            for report, line in reversed(series.get(key, [])):
                if line.evaluation:
                    period = (report.period_start, report.period_end)
                    effect = _effect(line, report.period_end)
                    if baseline.withheld or values[periods.index(period)].withheld:
                        effect = Effect("withheld", period_end=report.period_end)
                    break
            lines.append(ConstellationLine(by_pk[constellation_id], baseline, values, effect))

        def total(period: tuple[date, date], indicator_id: int = indicator_id) -> Cell:
            figures = totals.get((indicator_id, period))
            if figures is None:
                return NOT_REPORTED
            return cell(indicator_id, period, TOTAL_GROUP, figures[0], figures[1])

        sections.append(
            IndicatorSection(
                indicators[indicator_id],
                periods,
                lines,
                total(BASELINE),
                [total(period) for period in periods],
            )
        )
    return Portfolio(sections, _payments(fund, constellations), len(withheld))


def _row(indicator_id: int, period: tuple[date, date], line: Any, group: int) -> ResultRow:
    return ResultRow(str(indicator_id), period[0], period[1], line.n, line.count, str(group))


def _payments(fund: Fund, constellations: list[Constellation]) -> list[PaymentLine]:
    state = fund_state(fund)
    latest_value: dict[int, Decimal] = {}
    for payment in OutcomePayment.objects.filter(report__constellation__in=constellations).order_by(
        "report__period_start", "paid_at"
    ):
        latest_value[payment.report.constellation_id] = payment.outcome_value
    return [
        PaymentLine(
            constellation,
            constellation.application.requested_outcome_payment,
            state.committed(constellation=constellation.code),
            latest_value.get(constellation.pk),
            state.paid(constellation=constellation.code, kind=PaymentKind.OUTCOME_PAYMENT),
        )
        for constellation in constellations
    ]


# Charts (Vega-Lite through Altair, as the council's): the page embeds the spec with the
# vendored vega-embed and the language's format locale; the PDF renders it to SVG.


def share_chart(section: IndicatorSection) -> dict[str, Any] | None:
    """The share meeting the indicator per constellation over time (baseline first), in
    per cent; withheld cells are not drawn."""
    import altair as alt
    import pandas as pd

    from utfall.platform.council.event_study_chart import AXIS_FORMAT

    when, share, who = _("Period ending"), _("Share (%)"), _("Constellation")
    points = []
    for line in section.lines:
        if line.baseline.share is not None:
            points.append(
                {when: _("Baseline"), "order": 0, share: _pct(line.baseline), who: line.label}
            )
        for index, value in enumerate(line.values):
            if value.share is not None:
                end = section.periods[index][1]
                points.append(
                    {when: _period(end), "order": index + 1, share: _pct(value), who: line.label}
                )
    if not points:
        return None
    order = [_("Baseline")] + [_period(end) for _start, end in section.periods]
    chart = (
        alt.Chart(pd.DataFrame(points))
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{when}:N", sort=order, title=when, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{share}:Q", title=share, axis=alt.Axis(format=AXIS_FORMAT)),
            color=alt.Color(f"{who}:N", title=who, legend=alt.Legend(orient="bottom", columns=1)),
            tooltip=[
                alt.Tooltip(f"{who}:N"),
                alt.Tooltip(f"{when}:N"),
                alt.Tooltip(f"{share}:Q", format=",.1f"),
            ],
        )
        .properties(width=300, height=180)
    )
    return dict(chart.configure_view(stroke=None).properties(padding=PADDING).to_dict())


def effect_chart(section: IndicatorSection) -> dict[str, Any] | None:
    """Each constellation's effect against its baseline in percentage points (the good
    direction to the right), with its 95 % interval, and a line at no change."""
    import altair as alt
    import pandas as pd

    from utfall.platform.council.event_study_chart import AXIS_FORMAT

    who, effect = _("Constellation"), _("Effect (percentage points)")
    low, high = _("Interval from"), _("Interval to")
    points = [
        {
            who: line.label,
            effect: float(line.effect.change * HUNDRED),
            low: float(line.effect.ci_low * HUNDRED) if line.effect.ci_low is not None else None,
            high: float(line.effect.ci_high * HUNDRED) if line.effect.ci_high is not None else None,
        }
        for line in section.lines
        if line.effect.status == "evaluated" and line.effect.change is not None
    ]
    if not points:
        return None
    frame = pd.DataFrame(points)
    y = alt.Y(f"{who}:N", title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip(f"{who}:N"),
        alt.Tooltip(f"{effect}:Q", format=",.1f"),
        alt.Tooltip(f"{low}:Q", format=",.1f"),
        alt.Tooltip(f"{high}:Q", format=",.1f"),
    ]
    x = alt.X(f"{effect}:Q", title=effect, axis=alt.Axis(format=AXIS_FORMAT))
    base = alt.Chart(frame)
    interval = base.mark_rule(color="#1f5f8b", strokeWidth=2).encode(
        x=alt.X(f"{low}:Q", title=effect), x2=f"{high}:Q", y=y, tooltip=tooltip
    )
    dots = base.mark_point(filled=True, size=70, color="#1f5f8b").encode(x=x, y=y, tooltip=tooltip)
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0]}))
        .mark_rule(color="#888", strokeDash=[4, 3])
        .encode(x="zero:Q")
    )
    chart = alt.layer(zero, interval, dots).properties(width=300, height=max(60, 34 * len(points)))
    return dict(chart.configure_view(stroke=None).properties(padding=PADDING).to_dict())


def _pct(value: Cell) -> float:
    assert value.share is not None
    return float(value.share * HUNDRED)


def _period(end: date) -> str:
    from django.utils.translation import get_language

    from utfall.services import formatting

    return formatting.date(end, formatting.language_of(get_language()))


def chart_items(portfolio: Portfolio, *, svg: bool = False) -> list[dict[str, Any]]:
    """Per section its two charts: ``{"id", "spec"}`` for the page, with ``svg`` (base64,
    drawn by vl-convert in the active language) for the PDF."""
    import base64

    from utfall.platform.council.charts import chart_svg

    items = []
    for section in portfolio.sections:
        charts: dict[str, dict[str, Any] | None] = {}
        for kind, build in (("share", share_chart), ("effect", effect_chart)):
            spec = build(section)
            if spec is None:
                charts[kind] = None
                continue
            drawn = None
            if svg:
                drawn = base64.b64encode(chart_svg(spec).encode("utf-8")).decode("ascii")
            charts[kind] = {
                "id": f"chart-{kind}-{section.indicator.pk}",
                "spec": spec,
                "svg": drawn,
            }
        items.append({"section": section, **charts})
    return items
