"""The statement and the finance tab (issue 15, points 2–5): figures through the formatting
layer, outputs by label, the financier's view before any settlement with its charts and the
expected payout, the simulation's rows, confirmations and the sign-off code error."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from platform_helpers import totp_code

from utfall.platform.contracts.models import Role

pytestmark = pytest.mark.django_db

IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
PLAIN_MONEY = re.compile(r"\b\d{5,}\.\d{2}\b")


def _visible(html: str) -> str:
    """The page's text as a reader sees it (no tags, attributes, scripts or code blocks)."""
    html = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _draft(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        period_start=dt.date(2016, 2, 15),
        period_end=dt.date(2021, 12, 31),
        manual_inputs={"invested_sek": ("10 000 000,00", "kostnadsrapporterna")},
        **extra,
    )


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_statement_shows_labels_and_formatted_figures(manual_world, client, language):
    world = manual_world
    draft = _draft(world)
    client.force_login(world.evaluator)
    html = client.get(
        f"/contracts/{world.contract.identifier}/settlements/{draft.pk}/",
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    text = _visible(html)
    assert not PLAIN_MONEY.search(text), PLAIN_MONEY.search(text)
    assert "costs.parquet" not in text and ".parquet" not in text
    outputs = re.search(r'data-testid="outputs">(.*?)</table>', html, re.S).group(1)
    assert not IDENTIFIER.search(_visible(outputs)), _visible(outputs)
    manual = re.search(r'data-testid="manual-inputs">(.*?)</table>', html, re.S).group(1)
    assert not IDENTIFIER.search(_visible(manual))
    if language == "sv":
        assert "10\u00a0000\u00a0000,00\u00a0kr" in text and "Investerat belopp" in manual
    else:
        assert "SEK\u00a010,000,000.00" in text


def test_sign_off_asks_first_and_a_wrong_code_is_shown_at_the_field(manual_world, client):
    from utfall.platform.settlements.services import settlement_review_start

    world = manual_world
    draft = _draft(world)
    url = f"/contracts/{world.contract.identifier}/settlements/{draft.pk}/"
    client.force_login(world.evaluator)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert re.search(r'data-confirm="[^"]{20,}"', page)  # sending for review
    settlement_review_start(settlement=draft, actor=world.evaluator)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    form = re.search(r'<form[^>]*data-testid="sign-form"[^>]*>', page).group(0)
    assert "data-confirm=" in form and "slutgiltig" in form
    wrong = client.post(
        f"{url}action/", {"action": "sign", "totp_code": "000000"}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    assert wrong.status_code == 400
    html = wrong.content.decode()
    sign = html[html.index('data-testid="sign-form"') :]
    sign = sign[: sign.index("</form>")]
    assert "tvåfaktorskod" in sign.lower() and "errorlist" in sign  # at the field, focused
    draft.refresh_from_db()
    assert draft.status == "review"
    right = client.post(
        f"{url}action/", {"action": "sign", "totp_code": totp_code(world.evaluator)}
    )
    assert right.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "signed"
    page = client.get(url).content.decode()
    correct = client.get(
        f"/contracts/{world.contract.identifier}/settlements/?correct={draft.pk}"
    ).content.decode()
    start = re.search(r'<form[^>]*data-testid="start-form"[^>]*>', correct).group(0)
    assert "data-confirm=" in start and f"#{draft.pk}" in start


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_financier_sees_drawdowns_charts_and_the_expected_payout(
    manual_world, client, language
):
    world = manual_world
    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/finance/"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    text = _visible(html)
    assert 'data-testid="unsettled"' in html and 'data-testid="drawdowns"' in html
    assert not PLAIN_MONEY.search(text)
    for chart in ("chart-drawdowns", "chart-categories", "chart-flows", "chart-totals"):
        assert f'data-chart="{chart}"' in html
        spec = json.loads(re.search(rf'id="{chart}"[^>]*>(.*?)</script>', html, re.S).group(1))
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite")
    locale = json.loads(re.search(r'id="vega-locale"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert locale["decimal"] == ("," if language == "sv" else ".")
    assert "hx-get" in html and "/finance/expected/" in html
    expected = client.get(f"{url}expected/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="expected-table"' in expected, expected[:3000]
    assert 'data-chart="chart-simulation"' in expected
    assert 'data-testid="default-distributions"' in expected
    assert not PLAIN_MONEY.search(_visible(expected))
    figures = re.findall(r'<td class="num">([^<]+)</td>', expected)
    if language == "sv":
        assert all("kr" in f or "%" in f for f in figures)
    else:
        assert all("SEK" in f or "%" in f for f in figures)


def test_the_simulation_has_one_row_per_input(manual_world, client):
    world = manual_world
    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/finance/"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    rows = re.search(r'data-testid="distribution-rows">(.*?)</table>', html, re.S).group(1)
    assert rows.count("<select") == 2 * 5  # input and distribution, five inputs
    assert "normal" in rows and "Investerat belopp" in rows
    assert "NAME=normal" not in html
    data = {
        "simulate": "1",
        "size": "2000",
        "seed": "7",
        "d-TOTAL_FORMS": "5",
        "d-INITIAL_FORMS": "5",
        "d-0-name": "invested_sek",
        "d-0-kind": "fixed",
        "d-0-first": "10 000 000,00",
        "d-1-name": "net_savings_sek",
        "d-1-kind": "normal",
        "d-1-first": "12 000 000",
        "d-1-second": "4 000 000",
        "d-2-name": "school_results_met",
        "d-2-kind": "fixed",
        "d-2-first": "1",
        "d-3-name": "school_did_met",
        "d-3-kind": "fixed",
        "d-3-first": "1",
        "d-4-name": "delivered_as_agreed",
        "d-4-kind": "fixed",
        "d-4-first": "1",
    }
    page = client.post(url, data, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert 'data-testid="simulation"' in page and 'data-testid="expected-irr"' in page, page[-4000:]
    bad = client.post(url, {**data, "d-1-second": "fyra"}, HTTP_ACCEPT_LANGUAGE="sv")
    html = bad.content.decode()
    assert 'data-testid="simulation"' not in html and "10\u00a0000\u00a0000,00 eller 1,5" in html
    missing = client.post(url, {**data, "d-1-second": ""}, HTTP_ACCEPT_LANGUAGE="sv")
    assert "standardavvikelse" in missing.content.decode().lower()


def test_the_keys_page_wraps_long_keys(manual_world, client):
    client.force_login(manual_world.evaluator)
    html = client.get("/keys/").content.decode()
    assert 'class="scroll"' in html and "key-text" in html


@pytest.mark.parametrize("language", ["sv", "en"])
def test_contract_terms_and_versions_through_the_formatting_layer(manual_world, client, language):
    world = manual_world
    client.force_login(world.evaluator)
    base = f"/contracts/{world.contract.identifier}/"
    html = client.get(base, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    terms = _visible(
        re.search(r"<tbody>(.*?)</tbody>", html[html.index("<table") :], re.S).group(1)
    )
    assert not PLAIN_MONEY.search(terms), PLAIN_MONEY.search(terms)
    cap = "10\u00a0000\u00a0000,00\u00a0kr" if language == "sv" else "SEK\u00a010,000,000.00"
    assert cap in terms
    inputs = html[html.index("invested_sek") - 2000 :] if "invested_sek" in html else html
    assert ">money<" not in inputs and ">boolean<" not in inputs
    versions = client.get(f"{base}versions/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>", versions)
