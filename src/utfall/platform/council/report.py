"""The quarterly council report: HTML, and PDF through WeasyPrint, in Swedish or English.

A report is drawn from a meeting's frozen snapshot (what the council looked at),
its agenda, minutes and decisions, and the follow-up of earlier decisions. The
charts are the page's Vega-Lite specs rendered to SVG by vl-convert (no browser), their
numbers in the report's language (the formatting layer's format locale); every figure
goes through the formatting layer as on the page (Swedish: ``4 000 000``, minus U+2212).
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils import translation

from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council.charts import chart_spec, chart_svg
from utfall.platform.council.models import CouncilMeeting
from utfall.platform.council.selectors import open_decisions, viewer_copy
from utfall.platform.council.tables import dashboard_sections, declared, key_figures
from utfall.platform.messages import error_said

__all__ = ["LANGUAGES", "report_html", "report_pdf"]

LANGUAGES = ("sv", "en")


def _context(
    meeting: CouncilMeeting, user: AbstractBaseUser, *, charts: bool, language: str
) -> dict[str, Any]:
    dashboard = viewer_copy(meeting.snapshot, user=user, contract=meeting.contract)
    version = latest_version(meeting.contract)
    document = parsed_version(version) if version is not None else None
    sections = []
    for item in dashboard_sections(dashboard, document):
        if "note" in item:
            sections.append(item)
            continue
        table = item["table"]
        svg = None
        if charts:
            spec = chart_spec(table)
            if spec is not None:
                drawn = chart_svg(spec, language)
                svg = base64.b64encode(drawn.encode("utf-8")).decode("ascii")
        sections.append({"table": table, "cells": table.cells(limit=None), "svg": svg})
    return {
        "meeting": meeting,
        "contract": meeting.contract,
        "dashboard": dashboard,
        "figures": key_figures(dashboard),
        "sections": sections,
        "decisions": list(meeting.decisions.all()),
        "follow_ups": list(open_decisions(meeting=meeting)),
        "missing_inputs": [
            declared(document, "input", name)
            for name in (dashboard.get("settlement") or {}).get("missing") or []
        ],
        "settlement_failure": error_said(
            (dashboard.get("settlement") or {}).get("failure"), language, document
        ),
    }


def report_html(meeting: CouncilMeeting, *, user: AbstractBaseUser, language: str) -> str:
    """The report as a self-contained HTML page (charts inline as SVG images)."""
    language = language if language in LANGUAGES else "en"
    with translation.override(language):
        context = _context(meeting, user, charts=True, language=language)
        context["language"] = language
        return render_to_string("council/report.html", context)


def report_pdf(meeting: CouncilMeeting, *, user: AbstractBaseUser, language: str) -> bytes:
    """The report as PDF (WeasyPrint)."""
    from weasyprint import HTML

    html = report_html(meeting, user=user, language=language)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
