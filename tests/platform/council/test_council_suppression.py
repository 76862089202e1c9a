"""Small-cell suppression: a subgroup of 4 never appears anywhere.

The pure rule first (utfall.services.council.suppression), then every way out
of the platform: the dashboard dict, its page, its JSON, every CSV, a meeting's
frozen snapshot, the meeting page and the report (HTML and PDF).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pyarrow.compute as pc
import pytest
from council_helpers import SMALL_LABELS, SMALL_LEVEL
from visibility_helpers import AGGREGATES_FOR_FINANCIER, with_individual_status

from utfall.services.council.suppression import MIN_CELL, suppress_cells


@pytest.fixture
def norrkoping_text(norrkoping_text):
    """The Norrköping contract in which the financier sees aggregates only (the shipped one
    lists it in council.individual_status; decision 0940)."""
    return with_individual_status(norrkoping_text, AGGREGATES_FOR_FINANCIER)


def test_a_cell_of_four_loses_its_figures_and_its_label():
    rows = [
        {"level": "a", "n": 4, "saving": "100"},
        {"level": "b", "n": 9, "saving": "900"},
        {"level": "c", "n": 20, "saving": "2000"},
    ]
    out = suppress_cells(rows)
    assert MIN_CELL == 5
    shown = [row for row in out if not row["suppressed"]]
    # Secondary suppression: the next-smallest cell goes too, so a total cannot reveal "a".
    assert [row["level"] for row in shown] == ["c"]
    hidden = [row for row in out if row["suppressed"]]
    assert hidden == [{"suppressed": True}]
    assert "a" not in json.dumps(hidden) and "100" not in json.dumps(out)


def test_five_is_published_and_kept_keys_stay():
    out = suppress_cells([{"point": 2, "n": 5, "mean": 3.1}], keep=("point",), secondary=False)
    assert out == [{"point": 2, "n": 5, "mean": 3.1, "suppressed": False}]
    out = suppress_cells([{"point": 3, "n": 4, "mean": 3.1}], keep=("point",), secondary=False)
    assert out == [{"point": 3, "suppressed": True}]


def test_zero_and_missing_counts_are_suppressed():
    out = suppress_cells([{"level": "x", "n": 0}, {"level": "y"}], secondary=False)
    assert all(row["suppressed"] for row in out) and "x" not in json.dumps(out)


def _leaks(text: str) -> bool:
    """Whether the small subgroup's value or either of its labels appears in ``text`` (ISO
    dates left out: the reporting date 2016-12-31 holds "6-12")."""
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "", text)
    return any(name in text for name in (SMALL_LEVEL, *SMALL_LABELS))


def _pdf_text(data: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.django_db
def test_the_subgroup_of_four_appears_nowhere(council_world, client):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services
    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.council.tables import dashboard_tables
    from utfall.platform.tables import StoredTables

    world = council_world
    contract = world.contract
    dashboard = dashboard_compute(contract=contract, as_of=world.as_of)
    # The data has the group (4 included children in it): the dashboard does not.
    people = StoredTables(contract).table("participants")
    small = pc.and_(
        pc.equal(people.column("age_band"), SMALL_LEVEL),
        pc.equal(people.column("group"), "treatment"),
    )
    assert pc.sum(small).as_py() == 4
    assert not _leaks(json.dumps(dashboard, ensure_ascii=False))
    costs = next(p for p in dashboard["panels"] if p["kind"] == "cost_trajectory")
    (age_band,) = [g for g in costs["subgroups"] if g["column"] == "age_band"]
    assert all(row["suppressed"] for row in age_band["rows"])  # 4 and, secondarily, 8
    # The third measurement point has three children: the social panels comparing the
    # first and third point are not shown at all.
    social = [p for p in dashboard["panels"] if p["table"] == "social_scores"]
    measured = [p for p in social if p["status"] != "error"]
    assert measured and all(p["status"] == "suppressed" for p in measured)
    assert all("estimate" not in p and p["people"]["treated"] is None for p in measured)

    base = f"/contracts/{contract.identifier}/council"
    for role in Role:
        client.force_login(world.users[role])
        page = client.get(f"{base}/?as_of={world.as_of}")
        assert page.status_code == 200
        assert not _leaks(page.content.decode())
        data = client.get(f"{base}/dashboard.json?as_of={world.as_of}")
        assert not _leaks(data.content.decode("unicode_escape"))
        for table in dashboard_tables(data.json()):
            csv = client.get(f"{base}/tables/{table.id}.csv?as_of={world.as_of}")
            assert csv.status_code == 200, table.id
            assert not _leaks(csv.content.decode()), table.id

    from utfall.platform.organisations.services import api_token_create

    for role in (Role.FINANCIER, Role.PROVIDER):
        _record, token = api_token_create(user=world.users[role], name="council")
        api = client.get(
            f"/api/contracts/{contract.identifier}/council/dashboard?as_of={world.as_of}",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert api.status_code == 200 and api.json()["panels"]
        assert not _leaks(api.content.decode("unicode_escape"))
        assert ("individuals" in api.json()) is (role == Role.PROVIDER)

    meeting = services.meeting_record(
        contract=contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=dt.date(2019, 2, 10),
        as_of=world.as_of,
        title="Insatsråd",
        agenda="1. Status",
    )
    assert not _leaks(json.dumps(meeting.snapshot, ensure_ascii=False))
    client.force_login(world.users[Role.FINANCIER])
    assert not _leaks(client.get(f"{base}/meetings/{meeting.pk}/").content.decode())
    for table in dashboard_tables(meeting.snapshot):
        csv = client.get(f"{base}/tables/{table.id}.csv?meeting={meeting.pk}")
        assert not _leaks(csv.content.decode())
    _record, token = api_token_create(user=world.users[Role.FINANCIER], name="meetings")
    api = client.get(
        f"/api/contracts/{contract.identifier}/council/meetings/{meeting.pk}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert api.status_code == 200 and api.json()["snapshot_sha256"] == meeting.snapshot_sha256
    assert not _leaks(api.content.decode("unicode_escape"))
    assert "individuals" not in api.json()["dashboard"]
    html = client.get(f"{base}/meetings/{meeting.pk}/report.html?lang=en")
    assert html.status_code == 200 and not _leaks(html.content.decode())
    pdf = client.get(f"{base}/meetings/{meeting.pk}/report.pdf?lang=sv")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = _pdf_text(pdf.content)
    assert "Insatsråd" in text
    assert not _leaks(text)
