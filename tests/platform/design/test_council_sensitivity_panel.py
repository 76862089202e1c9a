"""The council's sensitivity panel (issue 16): where a DiD figure pays, the robust
intervals of the Rambachan–Roth analysis and the breakdown value, translated and with
figures formatted for the language. The sensitivity result is computed for real: the
HonestDiD README's Medicaid event study (tests/core/evaluation/test_sensitivity.py)."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.utils import translation


@pytest.fixture(scope="module")
def sensitivity() -> dict:
    import moderndid

    from utfall.core.evaluation.panel import twfe
    from utfall.core.evaluation.sensitivity import SensitivitySpec, event_study_sensitivity

    data = moderndid.load_ehec().to_pandas()
    data = data[(data.year < 2016) & (data.yexp2.isna() | (data.yexp2 != 2015))].copy()
    data["treated"] = ((data.yexp2 == 2014) & (data.year >= 2014)).astype(int)
    estimate = twfe(
        data, outcome="dins", treatment="treated", unit="stfips", time="year", event_study=True
    )
    spec = SensitivitySpec(method="smoothness", grid=[0.0, 0.01, 0.02, 0.03])
    return event_study_sensitivity(estimate.extras, spec).as_dict()


def _render(panels: list[dict], language: str) -> str:
    with translation.override(language):
        return render_to_string("council/_sensitivity.html", {"dashboard": {"panels": panels}})


def _panel(sensitivity: dict, *, paid: bool = True) -> dict:
    return {
        "id": "school",
        "paid": paid,
        "label": {"sv": "Skolresultat mot referensgruppen", "en": "School results"},
        "sensitivity": sensitivity,
    }


def test_the_panel_shows_robust_intervals_and_breakdown_in_swedish(sensitivity):
    html = _render([_panel(sensitivity)], "sv")
    assert "Skolresultat mot referensgruppen: känslighet för parallella trender" in html
    # README: significant up to M = 0.02, not at 0.03 (breakdown ≈ 0.03).
    assert sensitivity["breakdown"] == pytest.approx(0.02)
    assert "Brytvärde: effekten är skild från noll upp till M = 0,02." in html
    rows = re.findall(r"<tr>\s*(.*?)</tr>", html.split("<tbody>")[1], flags=re.S)
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in rows]
    assert [c[0] for c in cells] == ["0", "0,01", "0,02", "0,03"]
    # README (FLCI, M = 0): [0.0259, 0.0607] (ours agrees to 1e-4), shown to four
    # decimals with a decimal comma.
    first = sensitivity["intervals"][0]
    assert first["ci_low"] == pytest.approx(0.0259, abs=1e-4)
    assert cells[0][1:3] == [
        f"{first['ci_low']:.4f}".replace(".", ","),
        f"{first['ci_high']:.4f}".replace(".", ","),
    ]
    assert [c[3] for c in cells] == ["ja", "ja", "ja", "nej"]
    assert "Jämnhet" in html


def test_the_panel_in_english_and_only_where_a_figure_pays(sensitivity):
    html = _render([_panel(sensitivity)], "en")
    assert "School results: sensitivity to parallel trends" in html
    assert "up to M = 0.02." in html
    assert _render([_panel(sensitivity, paid=False)], "sv").strip() == ""
    assert _render([{**_panel(sensitivity), "sensitivity": None}], "sv").strip() == ""
