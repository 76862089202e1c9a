"""The fund-level evaluation report, HTML and PDF (WeasyPrint), in Swedish or English.

For the government and its external evaluator (seed 003, phase 5: "Underlag till extern
utvärderare" and the inquiry's recommendation to the government on the continued work):
money budgeted, committed and paid by year and by actor (seed 003 table 12, the core's
:func:`~utfall.core.fund.budget_by_actor`), the outcomes by indicator (the portfolio, small
cells withheld), the terminations and their reasons, and the lessons recorded on the
knowledge platform for the fund's contracts. One template serves the page (inside the
platform's layout, charts drawn by vega-embed) and the PDF (a document of its own, the
same charts rendered to SVG by vl-convert).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from utfall.core.fund import PaymentKind
from utfall.platform.fund.budget_by_actor import actor_table
from utfall.platform.fund.models import (
    Constellation,
    ConstellationStatus,
    DecisionKind,
    Fund,
)
from utfall.platform.fund.portfolio import chart_items, portfolio_of
from utfall.platform.fund.selectors import fund_forecast, fund_state

__all__ = ["LANGUAGES", "report_context", "report_html", "report_pdf"]

LANGUAGES = ("sv", "en")


def _terminations(fund: Fund) -> list[dict[str, Any]]:
    """Every terminated constellation with its reason and what its termination released."""
    decisions = {
        decision.summary.partition(":")[0]: decision
        for decision in fund.decisions.filter(kind=DecisionKind.TERMINATION).order_by("decided_at")
    }
    rows = []
    for constellation in (
        Constellation.objects.filter(
            application__call__fund=fund, status=ConstellationStatus.TERMINATED
        )
        .select_related("application")
        .order_by("terminated_at", "code")
    ):
        decision = decisions.get(constellation.code)
        released = (decision.details or {}).get("released") if decision else None
        # Settled by seed 003's fairness rule (appendix 2) where the fund did so; the
        # reverse one-to-one raises (an AttributeError) when it did not.
        fairness = getattr(constellation, "fairness", None)
        rows.append(
            {
                "constellation": constellation,
                "on": constellation.terminated_at,
                "reason": constellation.termination_reason,
                "released": Decimal(str(released)) if released is not None else None,
                "effort": fairness.get_effort_display() if fairness is not None else None,
                "returned": fairness.total_returned if fairness is not None else None,
            }
        )
    return rows


def _fidelity(fund: Fund) -> list[Any]:
    """The fund's follow-ups of the implementation's quality and fidelity (seed 003 table
    7), newest first: what was found and the actions agreed."""
    reviews = []
    for constellation in Constellation.objects.filter(application__call__fund=fund).order_by(
        "code"
    ):
        reviews.extend(constellation.fidelity_reviews.select_related("constellation__application"))
    return sorted(reviews, key=lambda r: (r.reviewed_on, r.pk), reverse=True)


def _lessons(fund: Fund) -> list[Any]:
    """The lessons and evaluation reports recorded on the knowledge platform for the fund's
    contract and the constellations' contracts."""
    from utfall.platform.knowledge.models import Lesson

    contracts = [fund.contract_id] if fund.contract_id else []
    contracts += list(
        Constellation.objects.filter(application__call__fund=fund, contract__isnull=False)
        .values_list("contract_id", flat=True)
        .distinct()
    )
    return list(
        Lesson.objects.filter(publication__contract__in=contracts)
        .select_related("publication__contract")
        .order_by("kind", "-created_at")
    )


def report_context(fund: Fund, *, today: date, svg: bool = False) -> dict[str, Any]:
    """Everything the report shows, in the active language (``svg``: the charts drawn for
    the PDF)."""
    state = fund_state(fund)
    years = fund_forecast(fund, today=today)
    portfolio = portfolio_of(fund)
    constellations = list(Constellation.objects.filter(application__call__fund=fund))
    return {
        "fund": fund,
        "today": today,
        "years": years,
        "year_totals": {
            key: sum((getattr(row, key) for row in years), Decimal(0))
            for key in ("budget", "committed", "paid")
        },
        "actors": actor_table(state, today=today),
        "portfolio": portfolio,
        "charts": chart_items(portfolio, svg=svg),
        "figures": {
            "constellations": len(constellations),
            "active": sum(c.status == ConstellationStatus.ACTIVE for c in constellations),
            "terminated": sum(c.status == ConstellationStatus.TERMINATED for c in constellations),
            "committed": sum(
                (state.committed(constellation=c.code) for c in constellations), Decimal("0.00")
            ),
            "outcome_paid": state.paid(kind=PaymentKind.OUTCOME_PAYMENT),
            # Outcome payments and support, everything paid to the constellations.
            "paid": sum(
                (state.paid(constellation=c.code) for c in constellations), Decimal("0.00")
            ),
        },
        "terminations": _terminations(fund),
        "lessons": _lessons(fund),
        "fidelity": _fidelity(fund),
    }


def report_html(fund: Fund, *, language: str, today: date) -> str:
    """The report as a self-contained HTML document (charts inline as SVG images)."""
    language = language if language in LANGUAGES else "en"
    with translation.override(language):
        context = report_context(fund, today=today, svg=True)
        context.update(language=language, layout="fund/report_pdf.html", pdf=True)
        return str(render_to_string("fund/report.html", context))


def report_pdf(fund: Fund, *, language: str, today: date) -> bytes:
    """The report as PDF (WeasyPrint)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=report_html(fund, language=language, today=today)).write_pdf()
    return pdf
