"""Issue 15 on the public knowledge pages: labels in the reader's language instead of
identifiers (outcomes, groups, policy sectors), no internal source references (``seed
003``), figures through the formatting layer, age groups in the order of their ages, and
the open data as CSV for Excel besides the plain CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest

H1 = (date(2025, 1, 1), date(2025, 6, 30))


def _visible(page: str) -> str:
    """The text a reader sees; a closed <details> (the formula as the contract writes it,
    on request) shows only its summary."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    body = re.sub(r"<details>\s*<summary>(.*?)</summary>.*?</details>", r"\1", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def published(world):
    from utfall.platform.knowledge import services
    from utfall.services.knowledge import ResultRow

    commissioner = world.users["commissioner"]
    services.publication_update(
        contract=world.contract,
        actor=commissioner,
        published=True,
        summary="Samordnat stöd enligt seed 003:s bilaga 4 (seed 003). / Coordinated support "
        "(seeds 000–002).",
        policy_sector="Child and family welfare",
        stage="Complete",
    )
    rows = [ResultRow("school_results_met", *H1, n=1200, count=780)]
    rows += [
        ResultRow("school_results_met", *H1, n=40, count=20, group=group)
        for group in ("13-15", "16-17", "18-20", "6-12")
    ]
    rows.append(ResultRow("school_results_met", *H1, n=60, count=30, group="comparison"))
    services.results_record(contract=world.contract, actor=commissioner, rows=rows)
    return world


def _get(client, path: str, language: str, **query):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path, query)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "comparison", "sector", "share", "big"),
    [
        ("sv", "Jämförelsegrupp", "Barn och familj", "65\u00a0%", "1\u00a0200"),
        ("en", "Comparison group", "Child and family welfare", "65%", "1,200"),
    ],
)
def test_the_detail_page_speaks_the_reader_s_language(
    client, published, language, comparison, sector, share, big
):
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.services import labels

    world = published
    page = _get(client, f"/knowledge/{world.contract.identifier}/", language).content.decode()
    text = _visible(page)
    document = parsed_version(latest_version(world.contract))
    assert labels.label(document, "input", "school_results_met", language) in text
    assert "school_results_met" not in text  # an attribute only, never shown
    assert comparison in text and "comparison" not in text.split()
    assert sector in text
    assert share in text and big in text
    assert "seed" not in text.lower()
    assert not re.search(r"\b[a-z]+(?:_[a-z]+)+\b", text), re.search(
        r"\b[a-z]+(?:_[a-z]+)+\b", text
    )
    # Age groups by age, not as text.
    order = [text.index(group) for group in ("6-12", "13-15", "16-17", "18-20")]
    assert order == sorted(order)


@pytest.mark.django_db
def test_index_and_outcomes_show_labels_and_no_seed_references(client, published):
    index = _visible(_get(client, "/knowledge/", "sv").content.decode())
    assert "Samordnat stöd" in index and "Coordinated support" not in index
    assert "seed" not in index.lower() and "Barn och familj" in index
    english = _visible(_get(client, "/knowledge/", "en").content.decode())
    assert "Coordinated support" in english and "Samordnat" not in english
    outcomes = _get(client, "/knowledge/outcomes/", "sv").content.decode()
    assert 'data-outcome="school_results_met"' in outcomes
    assert "school_results_met" not in _visible(outcomes)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_open_data_as_csv_for_excel(client, published, language):
    world = published
    path = f"/knowledge/{world.contract.identifier}.csv"
    plain = _get(client, path, language).content.decode()
    assert plain.splitlines()[0].startswith("project_id,")
    excel = _get(client, path, language, form="excel")
    assert "-excel.csv" in excel["Content-Disposition"]
    text = excel.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    group, share = ("Grupp", "Andel") if language == "sv" else ("Group", "Share")
    assert rows and group in rows[0] and share in rows[0]
    shares = [row[share] for row in rows if row[share]]
    assert shares and all("." not in value for value in shares)
    assert any("," in value for value in shares)
    groups = {row[group] for row in rows}
    assert ("Jämförelsegrupp" if language == "sv" else "Comparison group") in groups
    everything = _get(client, "/knowledge/open-data.csv", language, form="excel")
    assert everything.content.decode("utf-8").startswith("\ufeff")


def test_public_text_picks_the_language_and_drops_seed_references():
    from django.utils import translation

    from utfall.platform.knowledge.presentation import public_text

    text = "Prislista för indikatorerna i seed 003:s bilaga 4 (seed 003). / Price list (seeds 000–002)."
    with translation.override("sv"):
        assert public_text(text) == "Prislista för indikatorerna i bilaga 4."
    with translation.override("en"):
        assert public_text(text) == "Price list."
