"""In Chromium: the council dashboard's chart axes read ``4 000 000`` in Swedish and
``4,000,000`` in English (vega-embed gets the page's format locale); screenshots of the
dashboard in both languages and of the report's first page go to var/screenshots/.

Uses Debian's Chromium (scripts/install-chromium.sh); skipped, saying why, without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from platform_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.mark.django_db(transaction=True)
def test_chart_axes_follow_the_page_language(browser, live_server, council_world):
    import datetime as dt

    from django.conf import settings

    from utfall.platform.council import services

    world = council_world
    contract = world.contract
    meeting = services.meeting_record(
        contract=contract,
        actor=world.users["commissioner"],
        held_on=world.as_of + dt.timedelta(days=10),
        as_of=world.as_of,
        title="Insatsråd kvartal 4",
        agenda="1. Status per barn\n2. Kostnader mot referensen",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{live_server.url}/contracts/{contract.identifier}/council/?as_of={world.as_of}"
    host = live_server.url.split("//")[1].split(":")[0]
    for language, grouped, wrong in (
        ("sv", r"\d{1,3}(?:\u00a0\d{3})+", r"\d{1,3}(?:,\d{3})+"),
        ("en", r"\d{1,3}(?:,\d{3})+", r"\d{1,3}(?:\u00a0\d{3})+"),
    ):
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_cookies(
            [
                {
                    "name": settings.LANGUAGE_COOKIE_NAME,
                    "value": language,
                    "domain": host,
                    "path": "/",
                }
            ]
        )
        page = context.new_page()
        browser_sign_in(page, live_server.url, "provider")
        page.goto(url)
        chart = "[data-chart='costs-monthly-spec'][data-rendered=true] svg"
        page.wait_for_selector(chart)
        axis = " ".join(t or "" for t in page.locator(f"{chart} text").all_text_contents())
        assert re.search(grouped, axis), axis
        assert not re.search(wrong, axis), axis
        page.screenshot(path=str(SHOTS / f"council-dashboard-{language}.png"), full_page=True)
        if language == "sv":
            report = f"{live_server.url}/contracts/{contract.identifier}/council/meetings/{meeting.pk}/report.html?lang=sv"
            page.set_viewport_size({"width": 794, "height": 1123})
            page.emulate_media(media="print")
            page.goto(report)
            page.wait_for_selector("img.chart")
            page.screenshot(path=str(SHOTS / "council-report-sv.png"))
        context.close()
