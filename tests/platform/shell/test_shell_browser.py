"""In Chromium: the shell's hooks (confirmation dialog, errors focused, "On this page") in
Swedish and English, the 404 page, and no page of the demo wider than the screen at 1366
and 390 pixels.

Uses Debian's Chromium; skipped, saying why, without it. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
WIDE = {"width": 1366, "height": 900}
NARROW = {"width": 390, "height": 844}
LABELS = {
    "sv": {
        "toc": "På denna sida",
        "ok": "Bekräfta",
        "cancel": "Avbryt",
        "404": "Sidan hittades inte",
    },
    "en": {"toc": "On this page", "ok": "Confirm", "cancel": "Cancel", "404": "Page not found"},
}


def _page(browser, base: str, language: str, viewport=WIDE, javascript: bool = True):
    context = browser.new_context(
        locale="sv-SE" if language == "sv" else "en-GB",
        viewport=viewport,
        java_script_enabled=javascript,
    )
    host = base.split("//", 1)[1].split(":", 1)[0]
    context.add_cookies(
        [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
    )
    return context.new_page()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF="shell_urls")
@pytest.mark.parametrize("language", ["sv", "en"])
def test_confirmation_errors_and_navigation(browser, live_server, language):
    base = live_server.url
    text = LABELS[language]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser, base, language)

    page.goto(f"{base}/shell-test/hooks/")
    toc = page.locator("[data-testid=page-toc]")
    assert toc.locator("summary").inner_text() == text["toc"]
    assert toc.locator("details").evaluate("d => d.open")  # beside the page when wide
    assert toc.locator("a").count() == 30
    assert toc.locator("a").first.get_attribute("href") == "#avsnitt-1"
    assert page.locator("h2#avsnitt-30").count() == 1
    assert page.locator(".table-wrap > [data-testid=wide-table]").count() == 1
    assert _fits(page)

    # Cancel: nothing is sent; the dialog shows what will happen, in the page's words.
    page.click("[data-testid=confirm-form] button")
    dialog = page.locator("[data-testid=confirm-dialog]")
    dialog.wait_for(state="visible")
    assert "Utlåtandet signeras och kan inte ändras." in dialog.inner_text()
    assert page.locator("[data-testid=confirm-ok]").inner_text() == text["ok"]
    assert page.locator("[data-testid=confirm-cancel]").inner_text() == text["cancel"]
    page.screenshot(path=str(SHOTS / f"shell-confirm-{language}.png"))
    page.click("[data-testid=confirm-cancel]")
    dialog.wait_for(state="hidden")
    assert page.url.endswith("/shell-test/hooks/")
    # Escape cancels too.
    page.click("[data-testid=confirm-form] button")
    dialog.wait_for(state="visible")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.url.endswith("/shell-test/hooks/")
    # Confirm: the form is sent once, with the button that was pressed.
    page.click("[data-testid=confirm-form] button")
    page.click("[data-testid=confirm-ok]")
    page.wait_for_url("**/shell-test/posted/")
    assert page.inner_text("body").strip() == "posted sign"
    # An htmx form: the same dialog, its own button label, one request only on confirm.
    page.goto(f"{base}/shell-test/hooks/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "posted" in r.url else None)
    page.click("[data-testid=htmx-form] button")
    dialog.wait_for(state="visible")
    assert page.locator("[data-testid=confirm-ok]").inner_text() == "Stäng utlysningen"
    page.click("[data-testid=confirm-cancel]")
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert requests == []
    page.click("[data-testid=htmx-form] button")
    page.click("[data-testid=confirm-ok]")
    page.wait_for_selector("[data-testid=htmx-out]:has-text('posted htmx')")
    assert len(requests) == 1
    # The next dialog has the default label again.
    page.click("[data-testid=confirm-form] button")
    assert page.locator("[data-testid=confirm-ok]").inner_text() == text["ok"]
    page.click("[data-testid=confirm-cancel]")
    # A form without data-confirm is sent at once.
    page.goto(f"{base}/shell-test/hooks/")
    page.click("[data-testid=plain-form] button")
    page.wait_for_url("**/shell-test/posted/")
    assert page.inner_text("body").strip() == "posted plain"

    # An error far down the page: scrolled to, and the field focused and described.
    page.goto(f"{base}/shell-test/hooks/?form=1")
    page.fill("#id_code", "123")
    page.click("[data-testid=error-form] button[type=submit]")
    page.wait_for_selector("#id_code_error")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_code'")
    box = page.evaluate(
        "(() => { const r = document.getElementById('id_code_error').getBoundingClientRect();"
        " return [r.top, r.bottom, window.innerHeight, window.scrollY]; })()"
    )
    assert box[0] >= 0 and box[1] <= box[2] and box[3] > 1000
    assert page.get_attribute("#id_code", "aria-invalid") == "true"
    assert "id_code_error" in page.get_attribute("#id_code", "aria-describedby")

    # Narrow: "On this page" folded at the top; nothing wider than the screen.
    narrow = _page(browser, base, language, NARROW)
    narrow.goto(f"{base}/shell-test/hooks/")
    details = narrow.locator("[data-testid=page-toc] details")
    assert not details.evaluate("d => d.open")
    top = narrow.evaluate(
        "document.querySelector('[data-testid=page-toc]').getBoundingClientRect().top"
    )
    assert top < 200
    assert _fits(narrow)
    # The check can fail: the same table out of its wrapper widens the page.
    narrow.evaluate(
        "(() => { const w = document.querySelector('.table-wrap');"
        " w.replaceWith(w.firstElementChild); })()"
    )
    assert not _fits(narrow)

    # The 404 page.
    response = page.goto(f"{base}/no-such-page/")
    assert response.status == 404
    assert text["404"] in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / f"shell-404-{language}.png"))
    page.click("[data-testid=home-link]")
    page.wait_for_load_state()
    assert "/no-such-page/" not in page.url


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF="shell_urls")
def test_without_javascript_a_confirmed_form_still_submits(browser, live_server):
    page = _page(browser, live_server.url, "sv", javascript=False)
    page.goto(f"{live_server.url}/shell-test/hooks/")
    page.click("[data-testid=confirm-form] button")
    page.wait_for_url("**/shell-test/posted/")
    assert page.inner_text("body").strip() == "posted sign"
