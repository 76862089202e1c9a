"""The quarterly council report: HTML, and PDF through WeasyPrint, in Swedish or English.

A report is drawn from a meeting's frozen snapshot (what the council looked at),
its agenda, minutes and decisions, and the follow-up of earlier decisions. The
charts are the page's Vega-Lite specs rendered to SVG by vl-convert (no browser).
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils import translation

from utfall.platform.council.charts import chart_spec, chart_svg
from utfall.platform.council.models import CouncilMeeting
from utfall.platform.council.selectors import open_decisions, viewer_copy
from utfall.platform.council.tables import dashboard_sections, key_figures

__all__ = ["LANGUAGES", "report_html", "report_pdf"]

LANGUAGES = ("sv", "en")


def _context(meeting: CouncilMeeting, user: AbstractBaseUser, *, charts: bool) -> dict[str, Any]:
    dashboard = viewer_copy(meeting.snapshot, user=user, contract=meeting.contract)
    sections = []
    for item in dashboard_sections(dashboard):
        if "note" in item:
            sections.append(item)
            continue
        table = item["table"]
        svg = None
        if charts:
            spec = chart_spec(table)
            if spec is not None:
                svg = base64.b64encode(chart_svg(spec).encode("utf-8")).decode("ascii")
        sections.append({"table": table, "cells": table.cells(limit=None), "svg": svg})
    return {
        "meeting": meeting,
        "contract": meeting.contract,
        "dashboard": dashboard,
        "figures": key_figures(dashboard),
        "sections": sections,
        "decisions": list(meeting.decisions.all()),
        "follow_ups": list(open_decisions(meeting=meeting)),
    }


def report_html(meeting: CouncilMeeting, *, user: AbstractBaseUser, language: str) -> str:
    """The report as a self-contained HTML page (charts inline as SVG images)."""
    language = language if language in LANGUAGES else "en"
    with translation.override(language):
        context = _context(meeting, user, charts=True)
        context["language"] = language
        return render_to_string("council/report.html", context)


def report_pdf(meeting: CouncilMeeting, *, user: AbstractBaseUser, language: str) -> bytes:
    """The report as PDF (WeasyPrint)."""
    from weasyprint import HTML

    html = report_html(meeting, user=user, language=language)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
