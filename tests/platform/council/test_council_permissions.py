"""Who sees what on the council pages (the matrix itself is in test_platform_permissions).

The contract is Norrköping with the financier left out of its ``council: individual_status``
term, so a role that sees aggregates only is covered; the shipped term, which lists the
financier, is tested in test_individual_status_term (decision 0940)."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from django.core.exceptions import PermissionDenied
from visibility_helpers import AGGREGATES_FOR_FINANCIER, with_individual_status


@pytest.fixture
def norrkoping_text(norrkoping_text):
    """The Norrköping contract in which the financier sees aggregates only."""
    return with_individual_status(norrkoping_text, AGGREGATES_FOR_FINANCIER)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["commissioner", "financier", "provider", "intermediary", "evaluator"]
)
def test_individual_status_is_not_for_the_financier(council_world, client, role):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import selectors

    world = council_world
    user = world.users[Role(role)]
    allowed = role != "financier"
    from utfall.platform.tables import StoredTables

    people = StoredTables(world.contract).table("participants")
    treated = people.filter(pc.equal(people.column("group"), "treatment"))
    pseudonym = treated.column("participant")[0].as_py()[:12]
    base = f"/contracts/{world.contract.identifier}/council"
    client.force_login(user)
    page = client.get(f"{base}/?as_of={world.as_of}").content.decode()
    assert (pseudonym in page) is allowed
    assert ('data-testid="table-individuals"' in page) is allowed
    data = client.get(f"{base}/dashboard.json?as_of={world.as_of}").json()
    assert ("individuals" in data) is allowed
    assert any(p["kind"] == "cost_trajectory" for p in data["panels"])  # aggregates: everyone
    csv = client.get(f"{base}/tables/individuals.csv?as_of={world.as_of}")
    assert csv.status_code == (200 if allowed else 404)
    if allowed:
        assert (
            len(selectors.individual_status(user=user, contract=world.contract, as_of=world.as_of))
            == 12
        )
    else:
        with pytest.raises(PermissionDenied):
            selectors.individual_status(user=user, contract=world.contract)


@pytest.mark.django_db
def test_only_the_record_keepers_record_meetings(council_world, client):
    from utfall.platform.contracts.models import Role

    world = council_world
    url = f"/contracts/{world.contract.identifier}/council/meetings/"
    form = {
        "title": "Insatsråd",
        "held_on": "2019-02-10",
        "as_of": "2019-01-31",
        "agenda": "1. Status",
    }
    client.force_login(world.users[Role.PROVIDER])
    assert 'data-testid="meeting-form"' not in client.get(url).content.decode()
    assert client.post(url, form).status_code == 403
    assert not world.contract.council_meetings.exists()
    client.force_login(world.users[Role.INTERMEDIARY])
    response = client.post(url, form)
    assert response.status_code == 302
    meeting = world.contract.council_meetings.get()
    assert meeting.as_of.isoformat() == "2019-01-31"
    # Every party reads the meeting, the financier without the individual list.
    client.force_login(world.users[Role.FINANCIER])
    page = client.get(response["Location"])
    assert (
        page.status_code == 200 and 'data-testid="table-individuals"' not in page.content.decode()
    )


@pytest.mark.django_db
def test_outsiders_see_nothing(council_world, client):
    world = council_world
    client.force_login(world.outsider)
    base = f"/contracts/{world.contract.identifier}/council"
    for path in ("/", "/dashboard.json", "/tables/costs-monthly.csv", "/meetings/"):
        assert client.get(base + path).status_code == 404, path


@pytest.mark.django_db
def test_decisions_and_follow_up_through_the_pages(council_world, client):
    from utfall.platform.contracts.models import Role

    world = council_world
    base = f"/contracts/{world.contract.identifier}/council/meetings/"
    client.force_login(world.users[Role.COMMISSIONER])
    first = client.post(base, {"title": "Q3", "held_on": "2017-10-12", "as_of": "2017-09-30"})
    first_url = first["Location"]
    response = client.post(
        first_url,
        {
            "add_decision": "1",
            "kind": "recommendation",
            "text": "Tidigarelägg läxhjälpen",
            "owner": "Utföraren",
            "due_on": "2017-12-31",
        },
    )
    assert response.status_code == 302
    second_url = client.post(base, {"title": "Q4", "held_on": "2018-01-18", "as_of": "2017-12-31"})[
        "Location"
    ]
    page = client.get(second_url).content.decode()
    assert "Tidigarelägg läxhjälpen" in page  # open decisions come up for follow-up
    decision = world.contract.council_meetings.get(title="Q3").decisions.get()
    client.post(
        second_url,
        {"follow_up": "1", "decision": decision.pk, "status": "done", "note": "Genomfört"},
    )
    decision.refresh_from_db()
    assert decision.status == "done" and decision.followed_up_at.title == "Q4"
    # The financier reads but cannot write.
    client.force_login(world.users[Role.FINANCIER])
    assert (
        client.post(
            first_url,
            {
                "add_decision": "1",
                "kind": "decision",
                "text": "x",
                "owner": "y",
                "due_on": "2018-01-01",
            },
        ).status_code
        == 403
    )
    assert world.contract.council_meetings.get(title="Q3").decisions.count() == 1
