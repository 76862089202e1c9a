"""The import page before an upload (templates, expected columns), the audit trail and the
participants, parties, invitations and tokens pages: labels and formatted figures, no codes."""

from __future__ import annotations

import re

import pytest
from platform_helpers import csv_text, personnummer, upload

from utfall.platform.contracts.models import Role
from utfall.platform.imports.services import import_commit, import_upload, import_validate

pytestmark = pytest.mark.django_db
# What a page written for programmers shows: snake_case words, dotted event names, reprs.
_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+ed\b|\{'|'\}|\bNone\b|\bTrue\b|\bFalse\b")


def _visible(html: str) -> str:
    body = html.split("<main", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def _get(client, user, url, language="sv"):
    client.force_login(user)
    if language == "en":
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get(url)
    assert response.status_code == 200, url
    return response.text


def _import_participants(world, count=3):
    user = world.users[Role.COMMISSIONER]
    rows = [[personnummer(i), "2020-02-01", "", 2] for i in range(1, count + 1)]
    content = csv_text(["personnummer", "inkluderad", "grupp", "tidigare placeringar"], rows)
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("deltagare.csv", content),
        actor=user,
    )
    batch = import_validate(batch=batch, actor=user, background=False)
    return import_commit(batch=batch, actor=user, background=False)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_import_page_lists_each_tables_columns_and_templates(client, world, language):
    url = f"/contracts/{world.contract.identifier}/imports/"
    page = _get(client, world.users[Role.COMMISSIONER], url, language)
    tables = page.count('data-testid="declared-table"')
    assert tables >= 3
    assert page.count('data-testid="template-xlsx"') == tables
    assert page.count('data-testid="template-csv"') == tables
    assert page.count('data-testid="expected-columns"') == tables
    text = _visible(page)
    if language == "sv":
        assert "Inkluderingsdatum" in text and "Mall att fylla i" in text
        assert "Kolumnnamn som filen får använda" in text and "Beställare" in text
    else:
        assert "Inclusion date" in text and "Template to fill in" in text
        assert "Commissioner" in text
    assert not _CODE.findall(text), _CODE.findall(text)[:10]
    # Each template link downloads the template in the page's language.
    link = re.search(r'href="([^"]+template\.csv)" data-testid="template-csv"', page).group(1)
    header = client.get(link).content.decode("utf-8-sig").splitlines()[0]
    assert ("Inkluderingsdatum" if language == "sv" else "Inclusion date") in header


def test_the_audit_trail_in_words(client, world):
    _import_participants(world)
    url = f"/contracts/{world.contract.identifier}/audit/"
    page = _get(client, world.users[Role.COMMISSIONER], url)
    text = _visible(page)
    assert "import.validated" not in page and "{'" not in page and "'}" not in page
    assert "Import kontrollerad" in text and "Data importerade" in text
    assert "Kontraktet skapades" in text
    assert "Importerade rader: 3" in text
    assert "Tabell: " in text and "participants" not in text
    assert not _CODE.findall(text), _CODE.findall(text)[:10]
    english = _visible(_get(client, world.users[Role.COMMISSIONER], url, "en"))
    assert "Import validated" in english and "Rows imported: 3" in english


def test_audit_details_are_label_and_value_in_the_language():
    from utfall.platform.audit.selectors import event_label, event_summary

    details = {
        "batch": 12,
        "table": "participants",
        "file": "deltagare.csv",
        "rows": 6940,
        "sha256": "ab" * 32,
        "mapping": {"included_on": "inkluderad"},
        "invitation": 4,
        "role": "financier",
        "period": "2024-01-01/2024-06-30",
        "amount": "1250000.00",
    }
    pairs = dict(
        event_summary(
            details,
            "sv",
            tables={"participants": "Barn och unga"},
            columns={"included_on": "Inkluderingsdatum"},
        )
    )
    assert pairs["Import"] == "#12"
    assert pairs["Tabell"] == "Barn och unga"
    assert pairs["Rader"] == "6\u00a0940"
    assert pairs["Kolumner"] == "Inkluderingsdatum ← inkluderad"
    assert pairs["Roll"] == "Finansiär"
    assert pairs["Kontrollsumma"] == "abababababab…"
    assert pairs["Belopp"].startswith("1\u00a0250\u00a0000,00")
    assert "2024-01-01" in pairs["Period"]
    assert all("invitation" not in key.lower() for key in pairs)
    from django.utils import translation

    with translation.override("sv"):
        assert event_label("import.validated") == "Import kontrollerad"
        assert event_label("something.new") == "Annan händelse"


def test_participants_parties_invitations_and_tokens_pages_show_no_codes(client, world):
    _import_participants(world)
    identifier = world.contract.identifier
    for user, url in (
        (world.users[Role.COMMISSIONER], f"/contracts/{identifier}/participants/"),
        (world.users[Role.COMMISSIONER], f"/contracts/{identifier}/parties/"),
        (world.users[Role.COMMISSIONER], "/invitations/"),
        (world.users[Role.COMMISSIONER], "/tokens/"),
    ):
        text = _visible(_get(client, user, url))
        assert not _CODE.findall(text), (url, _CODE.findall(text)[:10])
    participants = _visible(
        _get(client, world.users[Role.COMMISSIONER], f"/contracts/{identifier}/participants/")
    )
    assert "3 deltagare." in participants and "Insatsgruppen" in participants
    assert "2020-02-01" in participants
