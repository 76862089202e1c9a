"""The public knowledge platform: no login, never an unpublished contract, never a small cell."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from utfall.platform.knowledge import services
from utfall.platform.knowledge.models import Publication
from utfall.services.knowledge import ResultRow, knowledge_validate

H1 = (date(2025, 1, 1), date(2025, 6, 30))
SECRET_TITLE = "Nationell utfallsfinansiering"


@pytest.fixture
def knowledge(world, fund_world):
    """Norrköping published with results (one small cell); the fund contract unpublished."""
    commissioner = world.users["commissioner"]
    services.publication_update(
        contract=world.contract,
        actor=commissioner,
        published=True,
        summary="Coordinated support for placed children.",
        policy_sector="Child and family welfare",
        stage="Complete",
    )
    services.results_record(
        contract=world.contract,
        actor=commissioner,
        source="evaluation",
        rows=[
            ResultRow("school_results_met", *H1, n=48, count=31),
            ResultRow("school_results_met", *H1, n=3, count=2, group="girls 16–18"),
            ResultRow("school_results_met", *H1, n=45, count=29, group="others"),
        ],
    )
    services.lesson_add(
        contract=world.contract,
        actor=commissioner,
        title="Costs rose first",
        body="Net savings from month 9.",
    )
    # The fund's contract has results but is not published.
    services.results_record(
        contract=fund_world.contract,
        actor=fund_world.admin,
        rows=[ResultRow("school_absence_units", *H1, n=500, count=123)],
    )
    return world


def _norrkoping_metric(world):
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    return parsed_version(latest_version(world.contract)).inputs


def test_public_pages_need_no_login_and_show_only_published(client, knowledge):
    page = client.get("/knowledge/")
    assert page.status_code == 200
    text = page.content.decode()
    assert knowledge.contract.title in text
    assert SECRET_TITLE not in text
    assert client.get("/knowledge/national-fund-constellation/").status_code == 404
    assert client.get("/knowledge/national-fund-constellation.json").status_code == 404
    assert client.get("/knowledge/national-fund-constellation.csv").status_code == 404
    everything = client.get("/knowledge/open-data.json").json()
    assert [p["utfall_extension"]["contract_id"] for p in everything["projects"]] == [
        knowledge.contract.identifier
    ]
    assert SECRET_TITLE not in client.get("/knowledge/open-data.csv").content.decode()
    outcomes = client.get("/knowledge/outcomes/").content.decode()
    assert "school_absence_units" not in outcomes and "school_results_met" in outcomes


def test_withdrawn_contract_disappears(client, knowledge):
    services.publication_update(
        contract=knowledge.contract, actor=knowledge.users["commissioner"], published=False
    )
    assert client.get(f"/knowledge/{knowledge.contract.identifier}/").status_code == 404
    assert client.get("/knowledge/open-data.json").json()["projects"] == []


def test_small_cells_never_leave_the_platform(client, knowledge):
    identifier = knowledge.contract.identifier
    html = client.get(f"/knowledge/{identifier}/").content.decode()
    assert "girls 16–18" in html  # the group is named …
    assert ">31<" in html
    # … but neither its figures nor the figures that would reveal them by subtraction.
    assert ">45<" not in html and ">29<" not in html and ">3<" not in html
    document = client.get(f"/knowledge/{identifier}.json").json()
    assert knowledge_validate(document) == []
    results = document["results"]  # the project's own INDIGO document
    withheld = [r for r in results if r["utfall_extension"]["suppressed"]]
    assert len(withheld) == 2
    assert all("number_engaged_in_impact_bond" not in r for r in withheld)
    table = list(
        csv.DictReader(io.StringIO(client.get(f"/knowledge/{identifier}.csv").content.decode()))
    )
    for row in table:
        for column in ("number_engaged_in_impact_bond", "number_with_positive_social_outcomes"):
            if row[column]:
                assert int(row[column]) >= 5
    assert {row["group"] for row in table if row["suppressed"] == "true"} == {
        "girls 16–18",
        "others",
    }


def test_detail_shows_terms_formulas_outcomes_and_lessons(client, knowledge):
    html = client.get(f"/knowledge/{knowledge.contract.identifier}/").content.decode()
    assert "invested_cap_sek" in html  # a term
    assert "Costs rose first" in html
    for name in _norrkoping_metric(knowledge):
        assert name in html


def test_search_and_filters(client, knowledge):
    assert knowledge.contract.title in client.get("/knowledge/?q=placed").content.decode()
    assert (
        knowledge.contract.title
        not in client.get("/knowledge/?q=sjukfr%C3%A5nvaro").content.decode()
    )
    assert (
        knowledge.contract.title
        in client.get("/knowledge/?stage=Complete&sector=Child+and+family+welfare").content.decode()
    )
    assert (
        knowledge.contract.title not in client.get("/knowledge/?stage=Contracted").content.decode()
    )


def test_only_a_commissioner_publishes(knowledge, fund_world):
    for user in (knowledge.users["financier"], knowledge.outsider, fund_world.admin):
        with pytest.raises(PermissionDenied):
            services.publication_update(contract=knowledge.contract, actor=user, published=True)
    with pytest.raises(PermissionDenied):
        services.results_record(
            contract=knowledge.contract, actor=knowledge.users["provider"], rows=[]
        )
    # A fund administrator records results only of the contract the fund pays under.
    with pytest.raises(PermissionDenied):
        services.results_record(contract=knowledge.contract, actor=fund_world.admin, rows=[])
    assert Publication.objects.get(contract=knowledge.contract).published


def test_results_must_name_the_contracts_outcomes(knowledge):
    from utfall.errors import UserError

    with pytest.raises(UserError, match="no outcome nonsense"):
        services.results_record(
            contract=knowledge.contract,
            actor=knowledge.users["commissioner"],
            rows=[ResultRow("nonsense", *H1, n=10, count=5)],
        )


def test_open_data_of_all_published_validates(client, knowledge):
    document = json.loads(client.get("/knowledge/open-data.json").content)
    assert knowledge_validate(document) == []
    assert document["projects"][0]["utfall_extension"]["url"].endswith(
        f"/knowledge/{knowledge.contract.identifier}/"
    )


def test_pages_speak_swedish_and_english(client, knowledge):
    assert "Kunskapsplattform" in client.get("/knowledge/").content.decode()
    client.cookies["django_language"] = "en"
    page = client.get("/knowledge/").content.decode()
    assert "Knowledge platform" in page and "Published contracts" in page
