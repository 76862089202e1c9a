"""In Chromium, in Swedish and in English: the settlement form with a typed Swedish amount and
a refused one, the statement computed in the background, the sign-off's confirmation and its
code error, and the finance tab with its charts and the expected payout. Screenshots go to
var/screenshots/settle-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_helpers import browser_sign_in, totp_code
from settle_ui_helpers import PLAN, manual_text
from settlement_helpers import build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


def _signed_in(browser, base, world, locale):
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    browser_sign_in(page, base, "evaluator", lambda: totp_code(world.evaluator))
    return page


def _no_wider_than_the_screen(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width


@pytest.mark.django_db(transaction=True)
def test_settlement_form_statement_and_finance_in_both_languages(browser, live_server):
    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.services import finance_plan_upload

    world = build_world(text=manual_text())
    finance_plan_upload(
        contract=world.contract,
        actor=world.users[Role.FINANCIER],
        text=PLAN.read_text(encoding="utf-8"),
    )
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    settlements = f"{base}/contracts/{world.contract.identifier}/settlements/"
    for language, locale in (("sv", "sv-SE"), ("en", "en-GB")):
        page = _signed_in(browser, base, world, locale)
        # The financier's view before any settlement: drawdowns, charts, expected payout.
        page.goto(f"{base}/contracts/{world.contract.identifier}/finance/")
        page.wait_for_selector("[data-testid=expected-table]", timeout=90_000)
        page.wait_for_selector("[data-chart=chart-drawdowns][data-rendered=true]", timeout=30_000)
        page.wait_for_selector("[data-chart=chart-simulation][data-rendered=true]", timeout=30_000)
        axis = page.inner_text("[data-chart=chart-drawdowns]")
        assert ("\u00a0000\u00a0000" if language == "sv" else ",000,000") in axis, axis[:400]
        _no_wider_than_the_screen(page)
        page.screenshot(path=str(SHOTS / f"settle-finance-{language}.png"), full_page=True)
        assert page.query_selector("[data-testid=unsettled]") is not None
        page.goto(settlements)
        prefilled = page.input_value("#id_value_invested_sek")
        assert prefilled.replace("\u00a0", " ").startswith(
            "10 000 000" if language == "sv" else "10"
        )
        page.fill("#id_period_start", "2016-02-15")
        page.fill("#id_period_end", "2021-12-31")
        page.fill("#id_value_invested_sek", "tio miljoner")
        page.click("button[name=start]")
        page.wait_for_selector("[data-field=value_invested_sek] .errorlist")
        error = page.inner_text("[data-field=value_invested_sek] .errorlist")
        assert ("Investerat belopp" if language == "sv" else "Invested") in error
        assert ".yaml" not in page.content() and "/tmp/" not in error
        page.screenshot(path=str(SHOTS / f"settle-form-{language}.png"), full_page=True)
        page.fill("#id_value_invested_sek", "10 000 000,00" if language == "sv" else "10000000")
        page.click("button[name=start]")
        page.wait_for_selector("[data-testid=explanation]", timeout=90_000)
        outputs = page.inner_text("[data-testid=outputs]")
        assert "_sek" not in outputs and "10000000.00" not in page.inner_text("main")
        assert (
            "10\u00a0000\u00a0000,00\u00a0kr" if language == "sv" else "SEK\u00a010,000,000.00"
        ) in (page.inner_text("main"))
        _no_wider_than_the_screen(page)
        page.screenshot(path=str(SHOTS / f"settle-statement-{language}.png"), full_page=True)
        page.click("button[name=action][value=review]")
        page.wait_for_selector("[data-testid=confirm-dialog][open]")
        page.click("[data-testid=confirm-ok]")
        page.wait_for_selector("[data-testid=statement][data-status=review]")
        page.fill("#id_totp_code", "000000")
        page.click("[data-testid=sign-form] button[type=submit]")
        page.wait_for_selector("[data-testid=confirm-dialog][open]")
        dialog = page.inner_text("[data-testid=confirm-dialog]")
        assert ("slutgiltig" if language == "sv" else "final") in dialog
        page.click("[data-testid=confirm-ok]")
        page.wait_for_selector("[data-testid=sign-form] .errorlist")
        focused = page.evaluate("document.activeElement && document.activeElement.id")
        assert focused == "id_totp_code", focused
        page.screenshot(path=str(SHOTS / f"settle-sign-error-{language}.png"), full_page=False)

        page.context.close()
        from utfall.platform.contracts.models import Settlement

        Settlement.objects.filter(contract=world.contract).delete()  # the next language anew
    page = _signed_in(browser, base, world, "sv-SE")
    page.goto(f"{base}/keys/")
    _no_wider_than_the_screen(page)
