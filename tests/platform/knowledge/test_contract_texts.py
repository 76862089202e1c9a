"""The contract page and the knowledge page say a contract's terms and formulas in words,
in the reader's language; the formula as written is there, marked as code (issue 15,
decision 0851)."""

from __future__ import annotations

import re

import pytest

from utfall.platform.contracts.models import Role

IDENTIFIER = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def _outside_code(page: str) -> str:
    """The page without scripts, styles, attributes and elements marked ``data-code``."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<pre data-code>.*?</pre>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("sv", "(garanterad andel × investerat belopp som räknas) avrundat till öre"),
        ("en", "(guaranteed share × invested amount counted) rounded to öre"),
    ],
)
def test_the_contract_page_says_formulas_by_their_labels(client, world, language, words):
    client.force_login(world.users[Role.PROVIDER])
    client.cookies["django_language"] = language
    page = client.get(f"/contracts/{world.contract.identifier}/").text
    assert words.lower() in _outside_code(page).lower()
    # The guarantee is conditional on delivery (seed 002, issue 17).
    code = "<pre data-code><code>if delivered_as_agreed then round(guarantee_share * invested_counted_sek)"
    assert code in page
    assert not re.search(r'title="[a-z]+_[a-z0-9_]+"', page)
    assert IDENTIFIER.findall(_outside_code(page)) == []


def test_a_money_term_shows_the_per_of_its_unit_in_the_language():
    from types import SimpleNamespace

    from django.utils import translation

    from utfall.platform.knowledge.presentation import term_unit

    per_actor = SimpleNamespace(type="series", of="money", unit="SEK per actor")
    with translation.override("sv"):
        assert term_unit(per_actor) == "per aktör"
        assert term_unit(SimpleNamespace(type="money", of=None, unit="SEK")) == ""
        assert term_unit(SimpleNamespace(type="number", of=None, unit="young people")) == "unga"
    with translation.override("en"):
        assert term_unit(per_actor) == "per actor"
