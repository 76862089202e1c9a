"""In Chromium, in Swedish and in English: the import page of a file with 6,940 bad rows is
short (grouped problems), filters by kind and offers the download; screenshots go to
var/screenshots/imports-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "locale", "heading"),
    [("sv", "sv-SE", "problem – inget skrevs"), ("en", "en-GB", "problems — nothing was written")],
)
def test_the_import_page_with_thousands_of_problems(
    browser, live_server, bad_import, language, locale, heading
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    base = live_server.url
    browser_sign_in(page, base, "commissioner")
    batch = bad_import.batch
    url = f"{base}/contracts/{batch.contract.identifier}/imports/{batch.pk}/"
    page.goto(url)
    findings = page.locator("[data-testid=findings]")
    assert heading in findings.locator("h3").inner_text()
    assert page.locator("[data-testid=problem-group]").count() == 3
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert height < 6000, height
    assert width <= 1366, width
    page.screenshot(path=str(SHOTS / f"imports-problems-{language}.png"), full_page=True)
    page.locator("[data-testid=problem-group] a").nth(2).click()
    page.wait_for_selector("[data-testid=problem-list]")
    rows = page.locator("[data-testid=problem-list] tbody tr").count()
    assert rows == 40
    page.screenshot(path=str(SHOTS / f"imports-filtered-{language}.png"), full_page=True)
    with page.expect_download() as download:
        page.click("[data-testid=problems-csv]")
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 6940
    page.goto(f"{base}/contracts/{batch.contract.identifier}/imports/")
    page.screenshot(path=str(SHOTS / f"imports-tables-{language}.png"), full_page=True)
    context.close()
