"""The dashboard's budget by actor (seed 003 table 12): the state actors 84, SKR and RISE 71
and the constellations 210 MSEK, by year; a past year has no headroom but shows what lapsed."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _table(page: str) -> str:
    match = re.search(r'<table[^>]*data-testid="budget-by-actor".*?</table>', page, re.S)
    assert match, "the dashboard has no budget-by-actor table"
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def test_the_dashboard_splits_the_budget_by_actor_in_swedish(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Budget per aktör" in page
    table = _table(page)
    for label, total in (
        ("Statliga aktörer (delegation, myndigheter, akademi)", "84"),
        ("SKR och RISE", "71"),
        ("Konstellationer", "210"),
    ):
        assert label in table
        assert f"Totalt {total}{NBSP}000{NBSP}000" in table, table
    # 2024 has passed: the constellations' 10 MSEK not committed lapsed, no headroom left;
    # SKR and RISE's 18 MSEK was reserved for their own work and has not lapsed.
    ten, eighteen = f"10{NBSP}000{NBSP}000", f"18{NBSP}000{NBSP}000"
    assert "Konstellationer 2023 (passerat)" in table
    assert f"2024 (passerat) {ten} 0 0,00 0 {ten}" in table
    assert f"2024 (passerat) {eighteen} {eighteen} 0,00 0 0" in table


def test_the_budget_by_actor_in_english(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    client.cookies["django_language"] = "en"
    table = _table(client.get(f"/fund/{w.fund.pk}/").content.decode())
    assert "SKR and RISE" in table and "Constellations" in table
    assert "Total 210,000,000" in table


def test_a_past_year_has_no_headroom_in_the_budget_by_year(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    match = re.search(r'<table[^>]*data-testid="budget".*?</table>', page, re.S)
    assert match
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(0), re.S)
    past = next(r for r in rows if "2023" in r and "passerat" in r)
    assert re.findall(r'<td class="num">([^<]*)</td>', past)[-1] == "0"
