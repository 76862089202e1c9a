"""In Chromium: the evaluator signs in with TOTP, settles Norrköping from its stored synthetic
rows (every input is computed from the data: no value to enter), sends it for review, signs it off with a fresh code and downloads the bundle, which
``utfall verify`` accepts. Screenshots go to var/screenshots/ for the docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_helpers import browser_sign_in, totp_code
from settlement_helpers import build_world
from typer.testing import CliRunner

from utfall.cli.main import app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.fixture
def page(browser):
    context = browser.new_context(
        locale="sv-SE", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    return context.new_page()


@pytest.mark.django_db(transaction=True)
def test_evaluator_settles_signs_and_exports(page, live_server, tmp_path):
    world = build_world()
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)

    browser_sign_in(page, base, "evaluator", lambda: totp_code(world.evaluator))

    page.goto(f"{base}/contracts/{world.contract.identifier}/settlements/")
    page.fill("#id_period_start", "2016-02-15")
    page.fill("#id_period_end", "2021-12-31")
    page.click("button[name=start]")
    page.wait_for_selector("[data-testid=explanation]", timeout=60_000)
    shown = page.inner_text("[data-testid=evaluations]")
    # Each evaluation by its declared label, and the tables it read by theirs.
    assert "Kostnader mot historiskt förväntade" in shown
    assert "Kostnader för placeringar och öppenvård" in shown
    page.screenshot(path=str(SHOTS / "settlement-draft.png"), full_page=True)

    page.click("button[name=action][value=review]")
    page.click("[data-testid=confirm-ok]")  # the step is confirmed first (issue 15)
    page.wait_for_selector("[data-testid=statement][data-status=review]")
    page.fill("#id_totp_code", totp_code(world.evaluator))
    page.click("[data-testid=sign-form] button[type=submit]")
    page.click("[data-testid=confirm-ok]")
    page.wait_for_selector("[data-testid=statement][data-status=signed]", timeout=60_000)
    page.screenshot(path=str(SHOTS / "settlement-final.png"), full_page=True)

    with page.expect_download() as download:
        page.click("[data-testid=bundle-link]")
    bundle = tmp_path / "bundle.json"
    download.value.save_as(bundle)
    result = CliRunner().invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0x01
    bundle.write_bytes(bytes(data))
    assert CliRunner().invoke(app, ["verify", str(bundle)]).exit_code in (1, 2)

    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.services import finance_plan_upload

    plan = Path(__file__).resolve().parents[3] / "examples" / "finance" / "norrkoping-plan.yaml"
    finance_plan_upload(
        contract=world.contract,
        actor=world.users[Role.COMMISSIONER],
        text=plan.read_text(encoding="utf-8"),
    )
    page.goto(f"{base}/contracts/{world.contract.identifier}/finance/")
    page.wait_for_selector("[data-testid=drawdowns]", state="attached")  # table behind its chart
    assert "%" in page.inner_text("[data-testid=irr]")
    page.screenshot(path=str(SHOTS / "finance.png"), full_page=True)

    page.goto(f"{base}/keys/")
    assert world.evaluator.signing_keys.get().fingerprint in page.inner_text("[data-testid=keys]")
