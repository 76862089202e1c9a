"""The council's event-study panel: chosen for any evaluation whose estimate has an event
study, laid out as a table with its Vega-Lite chart (points with interval bars, a zero
line, the reference period marked, Swedish and English labels) that the page embeds and
the PDF report renders to SVG. No database: built from an Estimate of the organ-donation
TWFE event study (causaldata ``organ_donations``)."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.panel import twfe
from utfall.platform.council.charts import chart_spec, chart_svg
from utfall.platform.council.event_study_chart import event_study_chart
from utfall.platform.council.tables import panel_tables
from utfall.services.council.panels import event_study_block


@pytest.fixture(scope="module")
def estimate():
    import causaldata

    data = causaldata.organ_donations.load_pandas().data.copy()
    data["treated"] = ((data["State"] == "California") & (data["Quarter_Num"] >= 4)).astype(int)
    return twfe(
        data,
        outcome="Rate",
        treatment="treated",
        unit="State",
        time="Quarter_Num",
        event_study=True,
        inference=Inference(method="randomisation"),
    )


def _panel(estimate):
    return {
        "id": "donations",
        "label": {"sv": "Donationsgrad", "en": "Donation rate"},
        "status": "ok",
        "kind": "event_study",
        "estimate": {"unit": "number"},
        "series": [],
        "event_study": event_study_block(estimate),
    }


def _layers(spec):
    return spec["layer"]


def test_block_carries_the_shared_interface(estimate):
    block = event_study_block(estimate)
    assert block["reference"] == -1
    assert [r["relative_period"] for r in block["rows"]] == [-3, -2, -1, 0, 1, 2]
    assert block["pre_trend_test"]["df"] == 2
    json.dumps(block)


@pytest.mark.parametrize(
    ("language", "x_title", "reference"),
    [
        ("sv", "Period relativt införandet", "Referensperiod"),
        ("en", "Period relative to adoption", "Reference period"),
    ],
)
def test_panel_table_and_chart(estimate, language, x_title, reference):
    with translation.override(language):
        tables = panel_tables(_panel(estimate))
        (table,) = [t for t in tables if t.id == "donations-event-study"]
        assert [row["relative_period"] for row in table.rows] == [-3, -2, -1, 0, 1, 2]
        assert [row["reference"] for row in table.rows].count(True) == 1
        assert "p = " in table.description
        spec = chart_spec(table)
    assert spec is not None
    text = json.dumps(spec, ensure_ascii=False)
    assert x_title in text and reference in text
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in _layers(spec)
    ]
    assert marks.count("rule") >= 3  # the zero line, the interval bars, the reference marker
    assert "point" in marks
    svg = chart_svg(spec)  # what the PDF report embeds
    assert svg.startswith("<svg")


def test_standalone_chart_needs_no_django(estimate):
    spec = event_study_chart(
        estimate.extras["event_study"],
        reference=estimate.extras["event_study_reference"],
        language="en",
    )
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert "Effect by period before and after adoption" in json.dumps(spec)
