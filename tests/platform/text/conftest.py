"""One demo world for the text test and the journeys (issue 15).

The demo is slow to load, so it is loaded once per package, committed to the test
database (the journeys' browser needs committed rows), and the database is flushed when
the package is done, as a transactional test would, so no other test sees it. The
browser tests (journeys, layout) use their own live server over it: pytest-django's
``live_server`` would make every test transactional and flush the demo after the first.

The browser tests also share ``browser_in``: Debian's Chromium in the language of the
page, so its own parts (a file input's "Välj fil", a date input's ÅÅÅÅ-MM-DD) are in that
language too (decision 0863).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


GROUP = "demo-world"


def pytest_itemcollected(item: pytest.Item) -> None:
    """Every test of this package is in the xdist group "demo-world", so a test added
    without the mark cannot load a second demo world on the other worker (0862)."""
    if item.path.is_relative_to(HERE) and not item.get_closest_marker("xdist_group"):
        item.add_marker(pytest.mark.xdist_group(GROUP))


@dataclass
class DemoWorld:
    """The loaded demo: its logins (as printed), the seconds the load took, its log."""

    logins: list[Any]
    seconds: float
    log: list[str] = field(default_factory=list)

    def login(self, username: str) -> Any:
        return next(login for login in self.logins if login.username == username)


@pytest.fixture(scope="package")
def demo_world(django_db_setup, django_db_blocker) -> Iterator[DemoWorld]:
    """The demo with its synthetic data, loaded once for this package."""
    from django.core.management import call_command
    from platform_helpers import totp_code

    from utfall.platform.demo import load_demo

    with django_db_blocker.unblock():
        lines: list[str] = []
        started = time.perf_counter()
        # The evaluator's sign-offs take codes as the tests do (no wait for TOTP periods).
        logins = load_demo(log=lines.append, with_data=True, totp_code=totp_code)
        world = DemoWorld(logins, time.perf_counter() - started, lines)
        try:
            yield world
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo_db(demo_world, django_db_blocker) -> Iterator[DemoWorld]:
    """Database access over the committed demo, without a transaction to roll back."""
    with django_db_blocker.unblock():
        yield demo_world


@pytest.fixture(scope="package")
def demo_server(demo_world, django_db_blocker) -> Iterator[str]:
    """A live server over the demo (its URL); shares the in-memory SQLite connection."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        try:
            yield server.url
        finally:
            server.stop()


# Chromium's own language (its file and date inputs, its error pages) per page language.
# On Linux Chromium takes it from LANGUAGE and ignores --lang (used elsewhere); Debian
# ships the non-English ones in chromium-l10n (scripts/install-chromium.sh).
CHROMIUM_LANGUAGE = {"sv": "sv", "en": "en_GB"}


@pytest.fixture
def browser_in() -> Iterator[Callable[[str], Any]]:
    """``browser_in(language)``: a Chromium speaking ``language`` ("sv", "en"), launched
    once per test and language. Fails when Chromium cannot speak it (no language pack).

    Per test, as ``browser`` is: started once per module, before the test's database
    transaction, the live server's first write (a session at sign-in) found the
    in-memory database's table locked."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (run scripts/install-chromium.sh)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make between page actions are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    browsers: dict[str, Any] = {}
    with sync_playwright() as playwright:

        def browser_in(language: str) -> Any:
            if language not in browsers:
                ui = CHROMIUM_LANGUAGE[language]
                browser = playwright.chromium.launch(
                    executable_path=chromium,
                    args=[
                        "--no-sandbox",
                        "--disable-background-networking",
                        f"--lang={ui.replace('_', '-')}",
                    ],
                    env={**os.environ, "LANGUAGE": ui},
                )
                browsers[language] = browser
                # Without a locale of its own a context speaks the browser's language,
                # which falls back to en-US when Chromium has no pack for the one asked.
                context = browser.new_context()
                spoken = context.new_page().evaluate("navigator.language")
                context.close()
                assert spoken.startswith(language), (
                    f"Chromium speaks {spoken!r}, not {language!r}: install its language "
                    "pack (Debian: chromium-l10n, scripts/install-chromium.sh)"
                )
            return browsers[language]

        try:
            yield browser_in
        finally:
            for browser in browsers.values():
                browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
