"""In Chromium: no page of the demo world is wider than the screen, at 1366×900 and at
390×844 (a phone), in Swedish and in English; the favicon is found on every page.

Reads the demo world the text test and the journeys share (``conftest.py``: loaded once,
the same world ``make demo`` serves), in the same xdist group. Uses Debian's Chromium in the
page's language; skipped, saying why, without it.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("demo-world")]

VIEWPORTS = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
CONTRACT = "/contracts/norrkoping-placed-children/"
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
SHOOT = {f"{CONTRACT}audit/": "audit", "/keys/": "keys", CONTRACT: "contract"}


BROWSER_LOCALE = {"sv": "sv-SE", "en": "en-GB"}


def _signed_in(browser, base: str, username: str, viewport: dict, language: str):
    context = browser.new_context(locale=BROWSER_LOCALE[language], viewport=viewport)
    host = urlparse(base).hostname
    context.add_cookies(
        [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "utfall-demo")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")
    return page


def _too_wide(page, base: str, path: str) -> str | None:
    response = page.goto(f"{base}{path}", wait_until="load")
    assert response is not None and response.status == 200, (path, response and response.status)
    if page.query_selector("[data-chart], [hx-trigger]"):
        # Charts drawn and parts htmx fetches after the load change the width: wait for them.
        page.wait_for_load_state("networkidle")
    width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth,"
        " Array.from(document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect()"
        ".right > window.innerWidth + 1 && !e.closest('.table-wrap, .scroll, pre, .vega-embed'))"
        ".slice(0, 3).map(e => e.tagName + '.' + e.className)]"
    )
    if width[0] > width[1]:
        return f"{path}: {width[0]} > {width[1]} ({width[2]})"
    return None


@pytest.mark.django_db
def test_no_demo_page_is_wider_than_the_screen(browser_in, demo_db, demo_server):
    from utfall.platform.fund.models import Application, Call

    base = demo_server
    call = Call.objects.order_by("pk").first()
    application = Application.objects.order_by("pk").first()
    journeys = {
        "commissioner": ["/", CONTRACT, "/keys/", "/tokens/", "/knowledge/"],
        "fund_admin": ["/fund/"]
        + ([f"/fund/calls/{call.pk}/"] if call else [])
        + ([f"/fund/applications/{application.pk}/"] if application else []),
        "constellation": ["/fund/"] + ([f"/fund/calls/{call.pk}/apply/"] if call else []),
    }
    problems: list[str] = []
    missing: list[str] = []
    visited: set[str] = set()
    for language, (name, viewport), (username, paths) in product(
        ("sv", "en"), VIEWPORTS.items(), journeys.items()
    ):
        page = _signed_in(browser_in(language), base, username, viewport, language)
        page.on(
            "response",
            lambda r: missing.append(r.url) if r.status == 404 and "favicon" in r.url else None,
        )
        if username == "commissioner":
            page.goto(f"{base}{CONTRACT}")
            tabs = page.eval_on_selector_all(
                ".tabs a", "links => links.map(a => new URL(a.href).pathname)"
            )
            paths = paths + [t for t in tabs if t not in paths]
            assert f"{CONTRACT}audit/" in paths and f"{CONTRACT}settlements/" in paths
        for path in paths:
            problem = _too_wide(page, base, path)
            if problem:
                problems.append(f"{language} {name} {username} {problem}")
            shot = SHOOT.get(path)
            if shot and language == "sv" and name == "phone":
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"shell-phone-{shot}.png"))
            visited.add(path)
        page.context.close()
    assert len(visited) >= 12, visited
    assert not missing, missing
    assert not problems, "\n".join(problems)
