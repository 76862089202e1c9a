"""The text test (issue 15): every page of the demo a person reaches by links from the home
page, in Swedish and in English, shows no untranslated English on Swedish pages, no
identifiers, Python reprs or server paths, and numbers only in the language's form.

One test per demo login (and the anonymous visitor) and language; the failure message
lists the pages with their problems. The instrument is in ``textcrawl``.
"""

from __future__ import annotations

import time

import pytest

from text.textcrawl import WIDE, Line, crawl, english_strings, findings, report, visible_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-world")]

PEOPLE = [
    "anonymous",
    "commissioner",
    "financier",
    "provider",
    "intermediary",
    "evaluator",
    "admin",
    "fund_admin",
    "fund_reviewer",
    "constellation",
]


@pytest.fixture(scope="module")
def english() -> set[str]:
    return english_strings()


def _client(username: str, language: str):
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from platform_helpers import login_with_second_factor

    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if username != "anonymous":
        login_with_second_factor(client, get_user_model().objects.get(username=username))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("username", PEOPLE)
def test_every_page_reads_in_the_language(demo_db, english, username, language):
    if username != "anonymous":
        assert demo_db.login(username), f"the demo has no login {username!r}"
    started = time.perf_counter()
    usernames = [login.username for login in demo_db.logins]
    # The commissioner is a party to every contract: it reads every contract's pages; the
    # others read two of each kind (what differs for them is their role, not the contract).
    cap = WIDE if username == "commissioner" else 2
    pages = crawl(_client(username, language), language, english, usernames, cap)
    seconds = time.perf_counter() - started
    print(f"{username}/{language}: {len(pages)} pages in {seconds:.1f} s")
    assert len(pages) > 1, "the crawl found no links from the home page"
    bad = [page for page in pages if page.problems]
    assert not bad, report(bad, f"{username} in {language}: {len(bad)} of {len(pages)} pages")


# The checks themselves, on made-up lines (fast, no database).


def _kinds(
    text: str, language: str, untranslated: frozenset[str] = frozenset(), usernames=()
) -> set[str]:
    return {kind for kind, _ in findings([Line(text)], language, set(untranslated), usernames)}


def test_the_checks_find_what_they_should():
    assert _kinds("Summa 10 000 000,00 kr, 12,5 %, den 2 dec. 2026", "sv") == set()
    assert _kinds("Total 10,000,000.00 SEK, 12.5%, 2 Dec 2026", "en") == set()
    assert _kinds("Summa 10000000.00 kr", "sv") == {"decimal point", "ungrouped digits"}
    assert _kinds("Axel 4,000,000", "sv") == {"comma grouping"}
    assert _kinds("Total 10 000 000,00", "en") == {"decimal comma", "space grouping"}
    assert _kinds("invested_counted_sek", "en") == {"identifier"}
    assert _kinds("händelse import.validated", "sv") == {"event name"}
    assert _kinds("läst från costs.parquet", "sv") == {"file name", "English word"}
    assert _kinds("{'a': Decimal('1')}", "en") == {"Python repr"}
    assert _kinds("fil /work/main/x", "en") == {"server path"}
    assert _kinds("Inget kontrakt (None)", "sv") == {"Python repr", "English word"}
    assert _kinds("'2021-02-30' is not a date that exists", "sv") == {"English word"}
    assert _kinds("Ladda upp filen", "sv", frozenset({"Upload the file"})) == set()
    assert _kinds("Upload the file", "sv", frozenset({"Upload the file"})) >= {"English string"}
    # Versions, IP addresses, ISO dates, years, references and e-mail addresses are fine.
    assert _kinds("version 1.2, 10.0.0.1, 2024-01-31, år 2024, P-000001", "sv") == set()
    assert _kinds("commissioner@demo.utfall.invalid, uppladdad fil cost_reports.csv", "en") == set()
    assert _kinds("None of your organisations", "en") == set()
    assert _kinds("signerad av fund_admin", "sv", usernames=("fund_admin",)) == set()
    assert _kinds("the costs of the contract", "sv") == {"English word"}
    assert _kinds("RISE Research Institutes of Sweden — Intermediär", "sv") == set()
    assert _kinds("RISE Research Institutes of Sweden and the town", "sv") == {"English word"}
    assert _kinds("1 (1.0) · 2026-12-02 19:33", "sv") == set()
    lines = [Line("Kontraktsversion"), Line("1.0"), Line("Summa"), Line("1.5")]
    assert [k for k, _ in findings(lines, "sv", set())] == ["decimal point"]


def test_visible_text_skips_scripts_and_marked_code_and_reads_attributes():
    html = (
        "<html><head><title>Titel</title><script>var a_b = 1.5;</script></head><body>"
        "<p>Ett <strong>stycke</strong></p><span data-code><pre>x_y = 1.5</pre></span>"
        '<input type="submit" value="Spara"><a title="Öppna" href="/x">länk</a>'
        "<code>123456</code></body></html>"
    )
    lines = visible_text(html)
    assert [line.text for line in lines] == [
        "Titel",
        "Ett stycke",
        "Spara",
        "Öppna",
        "länk",
        "123456",
    ]
    assert lines[-1].code
