"""The import page with thousands of problems: grouped, counted, filtered, downloadable,
in Swedish and in English, identity numbers never in clear."""

from __future__ import annotations

import csv
import io

import pytest
from import_problem_files import BAD_DATES, BAD_KEPT, BAD_MINUTES
from platform_helpers import csv_text, personnummer, upload, wrong_check_digit

from utfall.platform.contracts.models import Role
from utfall.platform.imports.models import BatchStatus
from utfall.platform.imports.services import import_upload, import_validate
from utfall.platform.messages import BY_CODE, MESSAGES, finding_text

pytestmark = pytest.mark.django_db
TOTAL = BAD_DATES + BAD_MINUTES + BAD_KEPT


def _page(client, world, language="sv", query=""):
    client.force_login(world.users[Role.COMMISSIONER])
    if language == "en":
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    url = f"/contracts/{world.batch.contract.identifier}/imports/{world.batch.pk}/{query}"
    response = client.get(url)
    assert response.status_code == 200
    return response.text


def test_thousands_of_bad_rows_give_a_short_page_with_grouped_counts(client, bad_import):
    batch = bad_import.batch
    assert batch.status == BatchStatus.INVALID
    assert batch.finding_count == TOTAL
    page = _page(client, bad_import)
    # Every problem once listed flat made a page of 33,000 pixels; the groups make it short.
    assert len(page.encode()) < 60_000, len(page.encode())
    assert page.count('data-testid="problem-group"') == 3
    assert "6\u00a0940" in page or "6 940" in page or "6\u202f940" in page
    for count in (BAD_DATES, BAD_MINUTES, BAD_KEPT):
        shown = f"{count:,}".replace(",", "\u00a0")
        assert f">{shown}<" in page, shown
    # At most five examples of each kind.
    problems = page.split('data-testid="findings"')[1].split("</section>")[0]
    assert problems.count("är inget datum som finns") == 5
    assert "Datum som inte finns" in page
    assert "is not a date that exists" not in page


def test_the_download_lists_every_problem_with_row_column_value_and_message(client, bad_import):
    client.force_login(bad_import.users[Role.COMMISSIONER])
    batch = bad_import.batch
    response = client.get(f"/contracts/{batch.contract.identifier}/imports/{batch.pk}/problems.csv")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Rad", "Kolumn i filen", "Värde", "Typ", "Problem"]
    assert len(rows) == 1 + TOTAL
    first = rows[1]
    assert first[0] == "2" and first[1] == "Besöksdag" and first[2] == "2021-02-30"
    assert first[4] == "”2021-02-30” är inget datum som finns"
    minutes = [r for r in rows[1:] if r[1] == "Minuter"]
    assert len(minutes) == BAD_MINUTES
    assert minutes[0][4] == "\u22125 är mindre än det minsta tillåtna värdet, 0"
    assert minutes[0][2] == "-5"
    assert {r[3] for r in rows[1:]} == {
        "Datum som inte finns",
        "Under det minsta tillåtna värdet",
        "Inte ja eller nej",
    }


def test_a_filter_by_kind_and_column_lists_only_those(client, bad_import):
    page = _page(client, bad_import, query="?kind=not-boolean&column=Genomf%C3%B6rt")
    assert page.count("”kanske” är inte ja eller nej") == BAD_KEPT
    listed = page.split('data-testid="problem-list"')[1].split("</table>")[0]
    assert listed.count("<tr>") == 1 + BAD_KEPT
    assert "är inget datum som finns" not in listed
    assert 'data-testid="problem-list"' in page


def test_english_pages_say_the_problems_in_english(client, bad_import):
    page = _page(client, bad_import, language="en")
    assert "“2021-02-30” is not a date that exists" in page
    assert "Dates that do not exist" in page
    assert "6,940" in page
    assert "är inget datum som finns" not in page


def test_a_swedish_message_for_an_impossible_date():
    finding = {
        "code": "invalid-date",
        "reason": "date-not-exists",
        "message": "'2021-02-30' is not a date that exists",
        "params": {"value": "2021-02-30"},
    }
    assert finding_text(finding, "sv") == "”2021-02-30” är inget datum som finns"
    assert finding_text(finding, "en") == "“2021-02-30” is not a date that exists"
    # Without its parameters a finding shows what was stored (older imports).
    assert finding_text({"code": "x", "message": "stored"}, "sv") == "stored"


def test_every_reason_has_a_swedish_message():
    from django.utils import translation

    untranslated = []
    for message in MESSAGES:
        if message.group is None and message.pattern is not None:
            continue  # an engine message (tests/platform/labels/test_messages.py)
        for text in (message.template, message.group):
            if text is None:
                continue
            with translation.override("en"):
                english = str(text)
            with translation.override("sv"):
                if str(text) == english:
                    untranslated.append(message.code)
    assert untranslated == []


def test_cell_errors_of_the_core_carry_a_reason_and_parameters():
    from decimal import Decimal

    from utfall.core.contracts.data import CellError, Column, Label, convert_cell

    column = Column(
        name="minutes", type="integer", label=Label("Minuter", "Minutes"), minimum=Decimal(0)
    )
    with pytest.raises(CellError) as caught:
        convert_cell(column, "-5", decimal_comma=False)
    assert caught.value.code == "below-minimum"
    assert caught.value.params == {"value": "-5", "minimum": "0"}
    assert caught.value.code in BY_CODE


def test_identity_numbers_are_masked_in_the_page_and_the_download(client, world):
    user = world.users[Role.COMMISSIONER]
    bad = wrong_check_digit(personnummer(1))
    stray = personnummer(2)
    content = csv_text(
        ["personnummer", "inkluderad", "grupp"],
        [[bad, "2020-02-01", ""], [personnummer(3), "2020-02-01", stray]],
    )
    batch = import_upload(
        contract=world.contract, table="participants", uploaded=upload("p.csv", content), actor=user
    )
    batch = import_validate(batch=batch, actor=user, background=False)
    assert batch.status == BatchStatus.INVALID
    world.batch = batch
    page = _page(client, world)
    download = client.get(
        f"/contracts/{world.contract.identifier}/imports/{batch.pk}/problems.csv"
    ).content.decode("utf-8-sig")
    for text in (page, download):
        for number in (bad, stray):
            digits = number.replace("-", "")
            assert number not in text and digits not in text and digits[2:] not in text
            assert number[2:] not in text
        assert "XXXXXXXX-XXXX" in text
    assert "kontrollsiffran är fel" in page


def test_why_an_import_waits_at_the_column_mapping(client, visits_world):
    user = visits_world.users[Role.COMMISSIONER]
    content = csv_text(["Dag", "Tid", "Genomfört"], [["2021-01-04", 30, "ja"]])
    batch = import_upload(
        contract=visits_world.visits,
        table="visits",
        uploaded=upload("v.csv", content),
        actor=user,
    )
    assert batch.status == BatchStatus.MAPPING
    visits_world.batch = batch
    page = _page(client, visits_world)
    assert "Dessa kolumner i filen kändes inte igen: Dag, Tid." in page
    assert "Välj nedan vilken kolumn i filen som innehåller: Besöksdag, Minuter." in page
    assert "is missing" not in page


def test_a_refused_upload_is_explained_in_swedish(client, visits_world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(visits_world.users[Role.COMMISSIONER])
    url = f"/contracts/{visits_world.visits.identifier}/imports/"
    content = "Besöksdag,Minuter,Genomfört\n"
    response = client.post(
        url,
        {
            "table": "visits",
            "encoding": "utf-8",
            "file": SimpleUploadedFile("v.csv", content.encode()),
        },
    )
    assert response.status_code == 200
    text = response.text
    assert "Filen kan inte användas som den är." in text
    assert "rad 2: filen har en rubrikrad men inga datarader" in text
    assert "no data rows" not in text and "/media/" not in text
