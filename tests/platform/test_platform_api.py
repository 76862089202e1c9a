"""The REST API: token auth, the same permission rules as the pages, OpenAPI, docs."""

from __future__ import annotations

import pytest
from platform_helpers import csv_text, personnummer

from utfall.platform.contracts.models import Role
from utfall.platform.organisations.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def _auth(user) -> dict[str, str]:
    _record, token = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_openapi_schema_and_docs_without_cdn(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "utfall API"
    assert "/api/contracts/{identifier}/imports" in schema["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content and b"/static/ninja/" in docs.content


def test_a_token_is_required_and_revocation_works(client, world):
    assert client.get("/api/contracts").status_code == 401
    record, token = api_token_create(user=world.users[Role.FINANCIER], name="x")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/contracts", **headers).status_code == 200
    api_token_revoke(token=record, actor=world.users[Role.FINANCIER])
    assert client.get("/api/contracts", **headers).status_code == 401


def test_each_person_sees_only_their_contracts(client, world):
    listed = client.get("/api/contracts", **_auth(world.users[Role.FINANCIER])).json()
    assert [c["identifier"] for c in listed] == [world.contract.identifier]
    assert listed[0]["my_roles"] == ["financier"]
    assert "sign_settlement" not in listed[0]["my_actions"]
    assert client.get("/api/contracts", **_auth(world.outsider)).json() == []
    url = f"/api/contracts/{world.contract.identifier}"
    assert client.get(url, **_auth(world.outsider)).status_code == 404


def test_financier_cannot_read_participants_but_provider_can(client, world):
    url = f"/api/contracts/{world.contract.identifier}/participants"
    denied = client.get(url, **_auth(world.users[Role.FINANCIER]))
    assert denied.status_code == 403
    assert denied.json()["message"] == "not allowed"
    assert client.get(url, **_auth(world.users[Role.PROVIDER])).status_code == 200


def test_import_through_the_api(client, world):
    headers = _auth(world.users[Role.COMMISSIONER])
    base = f"/api/contracts/{world.contract.identifier}/imports"
    content = csv_text(["pnr", "datum_x"], [[personnummer(1), "2020-01-01"]])
    created = client.post(
        base, {"table": "participants", "file": _file("p.csv", content)}, **headers
    )
    assert created.status_code == 201, created.content
    batch = created.json()
    assert batch["status"] == "mapping" and batch["mapping"] == {"personnummer": "pnr"}
    assert batch["table"] == "participants"
    bad = client.put(
        f"{base}/{batch['id']}/mapping",
        {"mapping": {"personnummer": "pnr"}},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    assert bad.json()["findings"][0]["code"] == "missing-column"
    ok = client.put(
        f"{base}/{batch['id']}/mapping",
        {"mapping": {"personnummer": "pnr", "included_on": "datum_x"}},
        content_type="application/json",
        **headers,
    )
    assert ok.json()["status"] == "ready"
    assert client.post(f"{base}/{batch['id']}/validate", **headers).json()["status"] == "valid"
    done = client.post(f"{base}/{batch['id']}/commit", **headers).json()
    assert (done["status"], done["rows_written"]) == ("committed", 1)
    participants = client.get(
        f"/api/contracts/{world.contract.identifier}/participants", **headers
    ).json()
    assert len(participants) == 1 and len(participants[0]["pseudonym"]) == 64
    assert participants[0]["values"] == {
        "included_on": "2020-01-01",
        "group": "treatment",
        "age_band": None,
        "earlier_placements": None,
    }
    assert personnummer(1) not in str(participants)
    # The financier may not import at all; an undeclared table is refused with the tables.
    denied = client.post(
        base,
        {"table": "participants", "file": _file("q.csv", content)},
        **_auth(world.users[Role.FINANCIER]),
    )
    assert denied.status_code == 403
    unknown = client.post(base, {"table": "employees", "file": _file("q.csv", content)}, **headers)
    assert unknown.status_code == 400
    assert unknown.json()["findings"][0]["code"] == "unknown-table"


def test_the_declared_tables_with_their_columns(client, world):
    headers = _auth(world.users[Role.PROVIDER])
    listed = client.get(f"/api/contracts/{world.contract.identifier}/tables", **headers)
    assert listed.status_code == 200, listed.content
    tables = {t["name"]: t for t in listed.json()}
    assert list(tables) == [
        "participants",
        "cost_records",
        "placement_days",
        "school_results",
        "social_scores",
        "cost_reports",
        "replacement_follow_up",
        "delivery_attestations",
        "price_index",
    ]
    people = tables["participants"]
    assert people["identity"] == ["personnummer", "reference"]
    assert people["import_roles"] == ["commissioner"] and people["may_import"] is False
    assert people["stored_rows"] == 0
    group = next(c for c in people["columns"] if c["name"] == "group")
    assert group["type"] == "choice" and group["required"] is False
    assert group["choices"]["comparison"] == {
        "sv": "Historisk referensgrupp",
        "en": "Historical reference group",
    }
    assert group["default"] == "treatment"
    scores = tables["social_scores"]
    assert scores["may_import"] is True  # the provider imports the social scores
    score = next(c for c in scores["columns"] if c["name"] == "score")
    assert (score["min"], score["max"], score["places"]) == ("0", "5", 2)
    amount = next(c for c in tables["cost_records"]["columns"] if c["name"] == "amount")
    assert amount["type"] == "money" and amount["unit"] == "SEK" and "belopp" in amount["synonyms"]
    assert tables["price_index"]["identity"] == []


def test_import_templates_through_the_api(client, world):
    headers = _auth(world.users[Role.COMMISSIONER])
    base = f"/api/contracts/{world.contract.identifier}/tables/cost_records/template"
    csv = client.get(base, {"language": "en"}, **headers)
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").splitlines()[0] == (
        "Personal identity number,Date or month,Cost category,Amount (SEK)"
    )
    xlsx = client.get(base, {"format": "xlsx"}, **headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    missing = client.get(
        f"/api/contracts/{world.contract.identifier}/tables/nope/template", **headers
    )
    assert missing.status_code == 400


def test_audit_is_visible_to_every_party(client, world):
    url = f"/api/contracts/{world.contract.identifier}/audit"
    for role in Role:
        events = client.get(url, **_auth(world.users[role]))
        assert events.status_code == 200
        assert "contract.created" in [e["action"] for e in events.json()]


def _file(name: str, content: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content.encode())
