"""In Chromium, in Swedish and in English: the fund administrator opens the portfolio from the
dashboard (charts drawn by vega-embed with the language's number format, a small cell
withheld) and the fund evaluation report. Screenshots go to /tmp/fundreport/.

Uses Debian's Chromium; skipped, saying why, without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_portfolio_report import portfolio_world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/fundreport")
WORDS = {
    "sv": {
        "locale": "sv-SE",
        "portfolio": "Portfölj: lärande mellan konstellationerna",
        "withheld": "visas inte",
        "report": "Utvärderingsrapport för fonden",
        "terminations": "Avslut och skälen för dem",
        "effect": "Effekt (procentenheter)",
    },
    "en": {
        "locale": "en-GB",
        "portfolio": "Portfolio: learning across the constellations",
        "withheld": "withheld",
        "report": "Fund evaluation report",
        "terminations": "Terminations and their reasons",
        "effect": "Effect (percentage points)",
    },
}

# What the demo's layout test (tests/platform/text/test_layout_browser.py) looks for.
WIDER_THAN_THE_SCREEN = (
    "document.documentElement.scrollWidth <= window.innerWidth ? [] : "
    "[document.documentElement.scrollWidth, window.innerWidth].concat(Array.from("
    "document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect().right > "
    "window.innerWidth + 1 && !e.closest('.table-wrap, .scroll, pre, .vega-embed'))"
    ".slice(0, 3).map(e => e.tagName + '.' + e.className))"
)


def _signed_in(browser, base: str, username: str, locale: str):
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pw-test-123")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")
    return page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_portfolio_and_the_report_in_the_browser(
    browser,
    live_server,
    portfolio_world,  # noqa: F811
    language,
):
    w = portfolio_world
    words = WORDS[language]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _signed_in(browser, live_server.url, "fundadmin", words["locale"])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/fund/{w.fund.pk}/")
    page.click("[data-testid=portfolio-link]")
    page.wait_for_selector(f"h1:has-text('{words['portfolio']}')")
    # Every chart is drawn (vega-embed, SVG), none failed.
    charts = page.locator("[data-chart]")
    assert charts.count() >= 3
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')]"
        ".every(e => e.dataset.rendered === 'true' && e.querySelector('svg'))",
        timeout=30_000,
    )
    table = page.inner_text("[data-testid=portfolio-work_or_studies]")
    assert words["withheld"] in table
    # The effect chart's axis is in the page's language (a decimal comma in Swedish).
    axis = page.inner_text(f"[data-testid=chart-effect-{w.indicators['school_absence'].pk}]")
    assert words["effect"] in axis
    page.screenshot(path=str(SHOTS / f"portfolio-{language}.png"), full_page=True)

    page.goto(f"{live_server.url}/fund/{w.fund.pk}/")
    page.click("[data-testid=report-link]")
    page.wait_for_selector(f"h1:has-text('{words['report']}')")
    assert words["terminations"] in page.inner_text("[data-testid=report-terminations]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')]"
        ".every(e => e.dataset.rendered === 'true')",
        timeout=30_000,
    )
    page.screenshot(path=str(SHOTS / f"report-{language}.png"), full_page=True)
    # The PDF link answers with a PDF.
    href = page.get_attribute("[data-testid=report-downloads] a", "href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    (SHOTS / f"report-{language}.pdf").write_bytes(response.body())
    # The document the PDF is printed from (WeasyPrint), as Chromium shows it.
    from utfall.platform.fund.report import report_html

    assert not errors, errors
    # On a phone neither page is wider than the screen (tables and charts scroll).
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("portfolio/", "report/"):
        page.goto(f"{live_server.url}/fund/{w.fund.pk}/{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(WIDER_THAN_THE_SCREEN) == [], path
    page.goto(f"{live_server.url}/fund/{w.fund.pk}/portfolio/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"portfolio-phone-{language}.png"), full_page=True)
    document = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
    document.set_content(report_html(w.fund, language=language, today=w.today))
    document.screenshot(path=str(SHOTS / f"report-document-{language}.png"), full_page=True)
