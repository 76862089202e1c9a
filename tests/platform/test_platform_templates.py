"""Import templates, per declared table, CSV and XLSX: the headers are the columns' labels in
the chosen language, the mapping recognises them, and a filled-in template imports without
a mapping. Also the import page (expected columns, templates) and the participants page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from platform_helpers import UNKNOWN_CONTRACT, personnummer, upload, xlsx_fill
from python_calamine import CalamineWorkbook

from utfall.platform.contracts.models import Role
from utfall.platform.imports.models import BatchStatus
from utfall.platform.imports.services import (
    import_commit,
    import_target,
    import_upload,
    import_validate,
)
from utfall.platform.imports.templates import template_csv, template_xlsx
from utfall.platform.tables import StoredTables

pytestmark = pytest.mark.django_db


def _declared(contract):
    target = import_target(contract, "participants")
    return target.document.data


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_headers_are_the_labels_and_the_mapping_recognises_them(world, language):
    from utfall.platform.imports.columns import import_columns, mapping_findings, propose_mapping

    declaration = _declared(world.contract)
    for table in declaration:
        header = next(
            csv.reader(
                io.StringIO(template_csv(declaration, table, language=language).decode("utf-8-sig"))
            )
        )
        labels = [c.label.text(language) for c in table.columns]
        assert header[-len(labels) :] == labels
        if table.per_participant:
            assert header[0] == ("Personnummer" if language == "sv" else "Personal identity number")
        columns = import_columns(declaration, table)
        mapping = propose_mapping(columns, header)
        assert not mapping_findings(columns, header, mapping, "t.csv"), table.name
        assert set(mapping.values()) == set(header)
        workbook = CalamineWorkbook.from_filelike(
            io.BytesIO(template_xlsx(declaration, table, language=language))
        )
        sheets = workbook.sheet_names
        assert sheets[0] == table.name
        assert workbook.get_sheet_by_index(0).to_python()[0] == header
        described = workbook.get_sheet_by_index(1).to_python()
        assert [row[1] for row in described[1 : len(header) + 1]] == [
            *(["personnummer"] if table.per_participant else []),
            *table.column_names,
        ]


def test_a_filled_in_template_imports_without_a_mapping_csv_and_xlsx(world):
    declaration = _declared(world.contract)
    user = world.users[Role.COMMISSIONER]
    people = declaration.participants
    filled = template_csv(declaration, people, language="sv").decode("utf-8-sig") + "".join(
        f"{personnummer(i)},2020-0{i}-01,Historisk referensgrupp,6–12 år,{i}\r\n" for i in (1, 2)
    )
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("deltagare.csv", filled.encode("utf-8-sig")),
        actor=user,
    )
    assert batch.status == BatchStatus.READY, batch.mapping
    batch = import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    costs = declaration.table("cost_records")
    xlsx = xlsx_fill(
        template_xlsx(declaration, costs, language="en"),
        [
            [personnummer(1), "2020-03-01", "placement", "1234.50"],
            [personnummer(2), "2020-03", "outpatient", "99.99"],
        ],
    )
    batch = import_upload(
        contract=world.contract,
        table="cost_records",
        uploaded=upload("costs.xlsx", xlsx),
        actor=user,
    )
    assert batch.status == BatchStatus.READY, batch.mapping
    batch = import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    stored = StoredTables(world.contract)
    assert stored.table("participants").column("group").to_pylist() == ["comparison"] * 2
    assert [str(a) for a in stored.table("cost_records").column("amount").to_pylist()] == [
        "1234.50",
        "99.99",
    ]


def test_the_import_page_lists_the_tables_columns_and_templates(client, world):
    client.force_login(world.users[Role.PROVIDER])
    page = client.get(f"/contracts/{world.contract.identifier}/imports/").content.decode()
    assert (
        page.count('data-testid="declared-table"') == 9
    )  # participants and the 8 tables of the reference contract
    assert "Belopp (kr)" in page and "Historisk referensgrupp" in page
    assert "≤ 5" in page  # the social scores' bound
    # The provider may import the social scores only.
    assert '<option value="social_scores">' in page
    assert '<option value="cost_records">' not in page
    csv_url = f"/contracts/{world.contract.identifier}/tables/social_scores/template.csv"
    assert csv_url in page
    response = client.get(csv_url)
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").startswith("Personnummer,Mätdatum,Dimension")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(csv_url).content.decode("utf-8-sig")
    assert english.startswith("Personal identity number,Date measured,Dimension")
    assert client.get(csv_url.replace("social_scores", "nothing")).status_code == 404
    xlsx = client.get(csv_url.replace(".csv", ".xlsx"))
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_an_import_waiting_at_the_mapping_says_why(client, world):
    user = world.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.csv", "pnr,kommentar\n19900101-0017,x\n"),
        actor=user,
    )
    assert batch.status == BatchStatus.MAPPING
    client.force_login(user)
    page = client.get(f"/contracts/{world.contract.identifier}/imports/{batch.pk}/")
    html = page.content.decode()
    assert 'data-testid="waiting"' in html and "Inkluderingsdatum" in html


def test_the_participants_page_shows_the_declared_columns_by_label(client, world, settings):
    from utfall.platform.contracts.services import contract_create, contract_party_set
    from utfall.platform.imports.services import import_file

    contract = contract_create(
        text=UNKNOWN_CONTRACT,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="unknown.yaml",
    )
    contract_party_set(
        contract=contract,
        organisation=world.organisations[Role.PROVIDER],
        role=Role.PROVIDER,
        actor=world.users[Role.COMMISSIONER],
        accepted_by=world.users[Role.PROVIDER],
    )
    rows = "".join(
        f"H-{i},2024-01-{1 + i % 28:02d},{'north' if i % 3 else ''}\n" for i in range(1, 131)
    )
    import_file(
        contract=contract,
        table="participants",
        name="h.csv",
        content=("reference,joined,district\n" + rows).encode(),
        actor=world.users[Role.PROVIDER],
    )
    client.force_login(world.users[Role.PROVIDER])
    url = f"/contracts/{contract.identifier}/participants/"
    html = client.get(url).content.decode()
    assert "<h2>Hushåll</h2>" in html
    assert '<th scope="col">Anslöt</th>' in html and '<th scope="col">Stadsdel</th>' in html
    assert ">Norr<" in html and ">north<" not in html
    assert html.count('class="pseudonym"') == 100 and "130 deltagare" in html
    assert "Sida 1 av 2" in html
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('class="pseudonym"') == 30
    pseudonyms = re.findall(r'class="pseudonym">([0-9a-f]+)<', html)
    assert all(len(p) == 12 for p in pseudonyms)
    assert "H-1" not in html  # references are pseudonymised, never shown
