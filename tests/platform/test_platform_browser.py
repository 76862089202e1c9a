"""In Chromium: a commissioner signs in, uploads a contract, imports participants and sees
them pseudonymised; a financier cannot see a contract it is not a party to.

Uses Debian's Chromium (scripts/install-chromium.sh); skipped, saying why, without it.
Screenshots go to var/screenshots/ for the docs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_helpers import browser_sign_in, csv_text, personnummer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contracts"


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    return context.new_page()


@pytest.mark.django_db(transaction=True)
def test_commissioner_and_financier(page, live_server, make_user, tmp_path):
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create, contract_party_set
    from utfall.platform.organisations.services import organisation_create

    municipality = organisation_create(name="Kommunen", actor=None)
    investor = organisation_create(name="Investeraren", actor=None)
    other = organisation_create(name="Annan kommun", actor=None)
    make_user("kommun", municipality)
    investor_user = make_user("finans", investor)
    other_user = make_user("annan", other)
    # The financier takes part in another contract only.
    botkyrka = contract_create(
        text=(EXAMPLE / "sick-leave-botkyrka.yaml").read_text(encoding="utf-8"),
        organisation=other,
        actor=other_user,
        file_name="sick-leave-botkyrka.yaml",
    )
    contract_party_set(
        contract=botkyrka,
        organisation=investor,
        role=Role.FINANCIER,
        actor=other_user,
        accepted_by=investor_user,
    )
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)

    browser_sign_in(page, base, "kommun")
    page.select_option("#id_organisation", label="Kommunen")
    page.set_input_files("#id_file", str(EXAMPLE / "norrkoping-placed-children.yaml"))
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=test-cases]")
    assert "Norrköping" in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / "contract.png"), full_page=True)

    numbers = [personnummer(i) for i in range(1, 4)]
    participants = tmp_path / "deltagare.csv"
    participants.write_text(
        csv_text(["Personnummer", "Inkluderad"], [[n, "2020-02-01"] for n in numbers]),
        encoding="utf-8",
    )
    page.goto(f"{base}/contracts/norrkoping-placed-children/imports/")
    page.select_option("#id_table", "participants")
    page.set_input_files("#id_file", str(participants))
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=preview]")
    page.click("button[name=validate]")
    page.wait_for_selector("[data-testid=import-status][data-status=valid]")
    page.click("button[name=commit]")
    page.wait_for_selector("[data-testid=import-status][data-status=committed]")
    page.goto(f"{base}/contracts/norrkoping-placed-children/participants/")
    table = page.inner_text("[data-testid=participants]")
    assert table.count("2020-02-01") == 3
    html = page.content()
    for number in numbers:
        assert number not in html and number.replace("-", "")[2:] not in html
    page.screenshot(path=str(SHOTS / "participants.png"), full_page=True)

    page.click("header form button[type=submit]")  # sign out
    page.wait_for_url(f"{base}/**")
    browser_sign_in(page, base, "finans")
    listed = page.inner_text("[data-testid=contract-list]")
    assert "sick-leave-botkyrka" in listed and "norrkoping-placed-children" not in listed
    response = page.goto(f"{base}/contracts/norrkoping-placed-children/")
    assert response.status == 404
    response = page.goto(f"{base}/contracts/sick-leave-botkyrka/participants/")
    assert response.status == 403
