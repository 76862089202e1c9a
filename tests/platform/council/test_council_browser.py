"""In Chromium: every role opens the Norrköping council dashboard; the charts render from
the vendored vega-embed; every role, the financier included, gets the individual status list
the Norrköping contract's ``council: individual_status`` term grants it. Screenshots go to
var/screenshots/ (the docs show the role journeys' screenshots, tests/platform/text).

Uses Debian's Chromium (scripts/install-chromium.sh); skipped, saying why, without it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from council_helpers import SMALL_LABELS, SMALL_LEVEL
from platform_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


def _totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    return format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))


def _sign_in(page, base: str, username: str, secret: str | None) -> None:
    browser_sign_in(page, base, username, (lambda: _totp_code(secret)) if secret else None)


@pytest.mark.django_db(transaction=True)
def test_every_role_opens_the_dashboard(browser, live_server, council_world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services

    world = council_world
    contract = world.contract
    meeting = services.meeting_record(
        contract=contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=world.as_of + dt.timedelta(days=10),
        as_of=world.as_of,
        title="Insatsråd kvartal 4",
        agenda="1. Status per barn\n2. Kostnader mot referensen\n3. Rekommendationer",
    )
    services.decision_add(
        meeting=meeting,
        actor=world.users[Role.COMMISSIONER],
        kind="recommendation",
        text="Tidigarelägg läxhjälpen för barn som placeras långt från hemkommunen.",
        owner="Utföraren (teamets specialpedagog)",
        due_on=dt.date(2019, 3, 31),
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{live_server.url}/contracts/{contract.identifier}/council/?as_of={world.as_of}"
    for role in Role:
        context = browser.new_context(locale="sv-SE", viewport={"width": 1200, "height": 1000})
        page = context.new_page()
        secret = world.totp_secret if role == Role.EVALUATOR else None
        _sign_in(page, live_server.url, role.value, secret)
        page.goto(url)
        page.wait_for_selector("[data-chart='costs-monthly-spec'][data-rendered=true] svg")
        assert page.locator("[data-testid=key-figures]").is_visible()
        individuals = page.locator("[data-testid=table-individuals]").count()
        assert individuals == 1, role
        # ISO dates left out: a reporting date such as 2016-12-31 holds "6-12".
        content = re.sub(r"\d{4}-\d{2}-\d{2}", "", page.content())
        assert all(name not in content for name in (SMALL_LEVEL, *SMALL_LABELS))
        page.screenshot(path=str(SHOTS / f"council-dashboard-{role.value}.png"))
        if role == Role.COMMISSIONER:
            page.goto(f"{live_server.url}/contracts/{contract.identifier}/council/meetings/")
            page.click("[data-testid=meetings] a >> nth=0")
            page.wait_for_selector("[data-testid=agenda]")
            page.wait_for_selector("[data-chart][data-rendered=true] svg")
            page.screenshot(path=str(SHOTS / "council-meeting.png"))
        context.close()
