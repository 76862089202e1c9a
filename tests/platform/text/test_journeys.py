"""The role journeys in Chromium (issue 15): each role of the demo signs in through the
login page (the evaluator with its TOTP code) and walks its main pages in Swedish and in
English, in a Chromium that speaks the language too (its file and date inputs); each page
is saved as docs/screenshots/<role>-<page>-<lang>.png at 1366×900: the screen a person
sees first, or, for the pages whose point is below it (the council's charts, a statement's
payments), the page from the top down to at most 3000 px.

Each page must answer without an error, be in the language asked for (``<html lang>``),
log no error in the browser's console (a script error, a refused resource) and label its
charts' axes with numbers in the language's form (charts are drawn in the browser, so the
text test cannot see them). All pages are visited before the test fails, so every
screenshot is taken; the failure lists the pages and what was wrong.

When every journey ran, screenshots of this naming that no journey took any more are
removed (replaced, not accumulated) and the screenshots must weigh less than 10 MB
together.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from text.textcrawl import Line, findings

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("demo-world")]

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}
# A page shown below the fold is cut here; the journeys' screenshots weigh at most this.
TALLEST = 3000
HEAVIEST = 10 * 1024 * 1024
CONTRACT = "norrkoping-placed-children"
LANGUAGES = ("sv", "en")
BROWSER_LOCALE = {"sv": "sv-SE", "en": "en-GB"}
# A page's first view may compute (the council dashboard) on a loaded 2-core machine.
GOTO_MS = 120_000


def _first_statement() -> str:
    """The demo's first settlement statement (the fund's constellation contracts have)."""
    from utfall.platform.contracts.models import Settlement

    statement = Settlement.objects.select_related("contract").order_by("pk").first()
    if statement is None:
        return ""
    return f"/contracts/{statement.contract.identifier}/settlements/{statement.pk}/"


def _first_batch(identifier: str) -> str:
    from utfall.platform.imports.models import ImportBatch

    batch = ImportBatch.objects.filter(contract__identifier=identifier).order_by("pk").first()
    return f"/contracts/{identifier}/imports/{batch.pk}/" if batch else ""


def _first_meeting(identifier: str) -> str:
    from utfall.platform.council.models import CouncilMeeting as Meeting

    meeting = Meeting.objects.filter(contract__identifier=identifier).order_by("pk").first()
    return f"/contracts/{identifier}/council/meetings/{meeting.pk}/" if meeting else ""


def _fund() -> str:
    from utfall.platform.fund.models import Fund

    return f"/fund/{Fund.objects.order_by('pk').first().pk}/"


def _call() -> str:
    from utfall.platform.fund.models import Call

    return f"/fund/calls/{Call.objects.order_by('pk').first().pk}/"


def _application() -> str:
    from utfall.platform.fund.models import Application

    return f"/fund/applications/{Application.objects.order_by('pk').first().pk}/"


Target = str | Callable[[], str]


@dataclass(frozen=True)
class Journey:
    """A role's main pages: (page name for the screenshot, URL or a function giving it);
    ``deep`` names those whose point is below the fold (screenshot down to ``TALLEST``)."""

    role: str
    username: str | None
    pages: tuple[tuple[str, Target], ...]
    deep: frozenset[str] = frozenset()


N = f"/contracts/{CONTRACT}"
JOURNEYS = (
    Journey(
        "public",
        None,
        (
            ("knowledge", "/knowledge/"),
            ("outcomes", "/knowledge/outcomes/"),
            ("contract", f"/knowledge/{CONTRACT}/"),
            ("indicators", "/fund/indicators/"),
        ),
        deep=frozenset({"contract"}),
    ),
    Journey(
        "commissioner",
        "commissioner",
        (
            ("home", "/"),
            ("contract", f"{N}/"),
            ("parties", f"{N}/parties/"),
            ("imports", f"{N}/imports/"),
            ("council", f"{N}/council/"),
            ("settlements", f"{N}/settlements/"),
        ),
        deep=frozenset({"council"}),
    ),
    Journey(
        "financier",
        "financier",
        (
            ("home", "/"),
            ("contract", f"{N}/"),
            ("finance", f"{N}/finance/"),
            ("council", f"{N}/council/"),
            ("settlements", f"{N}/settlements/"),
        ),
        deep=frozenset({"finance", "council"}),
    ),
    Journey(
        "provider",
        "provider",
        (
            ("home", "/"),
            ("contract", f"{N}/"),
            ("participants", f"{N}/participants/"),
            ("imports", f"{N}/imports/"),
            ("import", lambda: _first_batch(CONTRACT)),
        ),
    ),
    Journey(
        "evaluator",
        "evaluator",
        (
            ("home", "/"),
            ("settlements", f"{N}/settlements/"),
            ("statement", _first_statement),
            ("design", f"{N}/design/"),
            ("keys", "/keys/"),
        ),
        deep=frozenset({"statement"}),
    ),
    Journey(
        "intermediary",
        "intermediary",
        (
            ("home", "/"),
            ("council", f"{N}/council/"),
            ("meetings", f"{N}/council/meetings/"),
            ("meeting", lambda: _first_meeting(CONTRACT)),
            ("audit", f"{N}/audit/"),
        ),
        deep=frozenset({"council"}),
    ),
    Journey(
        "fund-admin",
        "fund_admin",
        (
            ("fund", "/fund/"),
            ("dashboard", _fund),
            ("call", _call),
            ("application", _application),
        ),
        deep=frozenset({"dashboard"}),
    ),
    Journey(
        "fund-reviewer",
        "fund_reviewer",
        (("dashboard", _fund), ("call", _call), ("application", _application)),
    ),
    Journey(
        "constellation",
        "constellation",
        (
            ("fund", "/fund/"),
            ("call", _call),
            ("apply", lambda: f"{_call()}apply/"),
            ("application", _application),
        ),
    ),
)

_taken: set[str] = set()
_run: set[str] = set()


def _totp_code(secret: str, language: str) -> str:
    """A valid code from the secret, without touching the database (the live server's
    thread shares the test's SQLite connection). The two languages take different steps
    of the accepted window (one step either side), so a run of both never reuses a code."""
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2] if language == "sv" else counters[-1]
    return format_hotp_value(hotp_value(secret, counter))


def _sign_in(page, base: str, login, language: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", login.username)
    page.fill("#id_password", login.password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    if login.totp_secret:
        page.wait_for_selector("#id_code")
        page.fill("#id_code", _totp_code(login.totp_secret, language))
        page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")


_CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-chart]')]
    .every(e => e.dataset.rendered === 'true')"""
_CHARTS_UNDRAWN = """() => [...document.querySelectorAll('[data-chart]')]
    .filter(e => e.dataset.rendered !== 'true')
    .map(e => `${e.dataset.chart} (${e.dataset.rendered || 'not started'})`)"""
# What the browser draws and the text test cannot see: the charts' labels and the
# vega-embed menu (its links are written by the script, in the page's language or not).
_CHART_TEXT = """() => [...document.querySelectorAll('svg text, .vega-actions a')]
    .map(e => e.textContent)"""
_NUMBER_KINDS = {
    "decimal point",
    "comma grouping",
    "ungrouped digits",
    "decimal comma",
    "space grouping",
}


@pytest.fixture(scope="module", autouse=True)
def _remove_stale_screenshots():
    """After the module: if every journey ran, remove journey screenshots none took, and
    fail if those taken are too heavy together (they are committed with the docs)."""
    yield
    if _run != {f"{j.role}-{lang}" for j in JOURNEYS for lang in LANGUAGES}:
        return
    names = "|".join(re.escape(j.role) for j in JOURNEYS)
    ours = re.compile(rf"^(?:{names})-[a-z0-9-]+-(?:sv|en)\.png$")
    for path in SHOTS.glob("*.png"):
        if ours.match(path.name) and path.name not in _taken:
            path.unlink()
    weight = sum((SHOTS / name).stat().st_size for name in _taken)
    assert weight < HEAVIEST, (
        f"the journeys' {len(_taken)} screenshots weigh {weight / 2**20:.1f} MB "
        f"(at most {HEAVIEST / 2**20:.0f} MB): take fewer below the fold"
    )


def _screenshot(page, path: Path, deep: bool) -> None:
    """The first screen, or for a page whose point is below it, down to TALLEST px; in
    256 colours (a page's few colours and the charts' shades), a third of the weight."""
    from PIL import Image  # WeasyPrint's dependency

    if deep:
        height = min(page.evaluate("document.documentElement.scrollHeight"), TALLEST)
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": max(height, 1)}
        png = page.screenshot(full_page=True, clip=clip)
    else:
        png = page.screenshot(full_page=False)
    with Image.open(io.BytesIO(png)) as image:
        shot = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        shot.save(path, "PNG", compress_level=6)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("journey", JOURNEYS, ids=lambda j: j.role)
def test_role_journey(browser_in, demo_db, demo_server, journey, language):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    login = demo_db.login(journey.username) if journey.username else None
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser_in(language).new_context(
        locale=BROWSER_LOCALE[language], viewport=VIEWPORT, accept_downloads=False
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": demo_server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems: list[str] = []
    started = time.perf_counter()
    if login is not None:
        _sign_in(page, demo_server, login, language)
    for name, target in journey.pages:
        url = target() if callable(target) else target
        if not url:
            problems.append(f"{name}: the demo has no such page")
            continue
        errors.clear()
        found: list[str] = []
        response = page.goto(f"{demo_server}{url}", wait_until="load", timeout=GOTO_MS)
        if response is None or response.status >= 400:
            found.append(f"answered {response.status if response else 'nothing'}")
        lang = page.get_attribute("html", "lang") or ""
        if not lang.startswith(language):
            found.append(f"<html lang={lang!r}>")
        # What the page loads after it (htmx partials); a page that polls never idles.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=10_000)
        try:
            page.wait_for_function(_CHARTS_DRAWN, timeout=20_000)
        except PlaywrightTimeout:
            undrawn = page.evaluate(_CHARTS_UNDRAWN)
            found.append(f"charts not drawn within 20 s: {undrawn}")
        chart_lines = [Line(text) for text in page.evaluate(_CHART_TEXT)]
        found += [
            f"chart {kind}: {snippet}"
            for kind, snippet in dict.fromkeys(findings(chart_lines, language, set()))
            if kind in _NUMBER_KINDS or kind == "English word"
        ][:5]
        found += [f"console: {error[:160]}" for error in errors[:5]]
        shot = f"{journey.role}-{name}-{language}.png"
        _screenshot(page, SHOTS / shot, name in journey.deep)
        _taken.add(shot)
        if found:
            problems.append(f"{name} ({url}): " + "; ".join(found))
    context.close()
    _run.add(f"{journey.role}-{language}")
    seconds = time.perf_counter() - started
    print(f"{journey.role}/{language}: {len(journey.pages)} pages in {seconds:.1f} s")
    assert not problems, f"{journey.role} in {language}:\n  " + "\n  ".join(problems)
