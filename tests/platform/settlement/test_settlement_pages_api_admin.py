"""Pages, API and admin: who may do what, and that a final statement cannot be changed
through any of them."""

from __future__ import annotations

import json

import pytest
from platform_helpers import login_with_second_factor, totp_code
from settlement_helpers import PERIOD

from utfall.platform.contracts.models import Role, Settlement, SettlementStatus

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def _bearer(user) -> dict[str, str]:
    from utfall.platform.organisations.services import api_token_create

    _record, clear = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}"}


def _frozen(statement: Settlement) -> tuple:
    statement.refresh_from_db()
    return (
        statement.status,
        statement.sha256,
        statement.bundle,
        statement.result,
        statement.manual_inputs,
        statement.comments.count(),
    )


def test_the_evaluator_settles_through_the_pages(final_world, client):
    world = final_world
    url = f"/contracts/{world.contract.identifier}/settlements/"
    c = _client(client, world.evaluator)
    page = c.get(url)
    assert page.status_code == 200 and b'data-testid="start"' in page.content
    response = c.post(url, dict(PERIOD))
    assert response.status_code == 302
    assert "/settlements/jobs/" in response["Location"]  # computed as a background task
    statement = Settlement.objects.order_by("-pk").first()
    detail = c.get(response["Location"], follow=True)
    html = detail.content.decode()
    assert statement.status == "draft" and "net_savings_sek" in html
    # The evaluation by its label (issue 15), not by its method's identifier.
    assert 'data-testid="explanation"' in html and "Kostnader mot historiskt förväntade" in html
    assert "invested_sek" in html and "Avropat belopp" in html  # drawn from the cost reports
    action = f"{url}{statement.pk}/action/"
    c.post(action, {"action": "review"})
    fin = _client(client.__class__(), world.users[Role.FINANCIER])
    fin.post(action, {"action": "comment", "text": "Agreed with our ledger."})
    assert fin.post(action, {"action": "sign", "totp_code": "123456"}).status_code == 403
    statement.refresh_from_db()
    assert statement.status == "review"  # the financier cannot sign
    c.post(action, {"action": "sign", "totp_code": "000000"})
    statement.refresh_from_db()
    assert statement.status == "review"  # a wrong code does not sign
    c.post(action, {"action": "sign", "totp_code": totp_code(world.evaluator)})
    statement.refresh_from_db()
    assert statement.status == "signed" and statement.comments.count() == 1
    page = c.get(f"{url}{statement.pk}/").content.decode()
    assert 'data-testid="bundle-link"' in page and "Agreed with our ledger." in page


def test_pages_refuse_every_change_to_a_final_statement(final_world, client):
    world = final_world
    final = world.final
    before = _frozen(final)
    action = f"/contracts/{world.contract.identifier}/settlements/{final.pk}/action/"
    for user in (world.evaluator, world.users[Role.COMMISSIONER]):
        c = _client(client.__class__(), user)
        for data in (
            {"action": "comment", "text": "late"},
            {"action": "review"},
            {"action": "sign", "totp_code": totp_code(world.evaluator)},
        ):
            c.post(action, data)
    assert _frozen(final) == before
    page = (
        _client(client, world.evaluator)
        .get(f"/contracts/{world.contract.identifier}/settlements/{final.pk}/")
        .content.decode()
    )
    assert 'data-testid="sign-form"' not in page and 'name="action" value="comment"' not in page


def test_the_api_refuses_every_change_to_a_final_statement(final_world, client):
    world = final_world
    final = world.final
    before = _frozen(final)
    base = f"/api/contracts/{world.contract.identifier}/settlements/{final.pk}"
    headers = _bearer(world.evaluator)
    attempts = [
        client.patch(
            base,
            json.dumps({"period_end": "2021-06-30"}),
            content_type="application/json",
            **headers,
        ),
        client.delete(base, **headers),
        client.post(f"{base}/review", **headers),
        client.post(
            f"{base}/comments",
            json.dumps({"text": "late"}),
            content_type="application/json",
            **headers,
        ),
        client.post(
            f"{base}/sign",
            json.dumps({"totp_code": totp_code(world.evaluator)}),
            content_type="application/json",
            **headers,
        ),
    ]
    for response in attempts:
        assert response.status_code == 400, response.content
        assert "final" in response.json()["message"]
    assert _frozen(final) == before
    listed = client.get(f"/api/contracts/{world.contract.identifier}/settlements", **headers)
    assert any(s["id"] == final.pk and s["status"] == "signed" for s in listed.json())


def test_the_api_workflow_and_its_permission_rules(final_world, client):
    world = final_world
    contract_url = f"/api/contracts/{world.contract.identifier}/settlements"
    body = dict(PERIOD)
    financier = _bearer(world.users[Role.FINANCIER])
    evaluator = _bearer(world.evaluator)
    outsider = _bearer(world.outsider)
    assert (
        client.post(contract_url, body, content_type="application/json", **financier).status_code
        == 403
    )
    assert client.get(contract_url, **outsider).status_code == 404
    created = client.post(contract_url, body, content_type="application/json", **evaluator)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["manual_inputs"] == {}
    revised = client.patch(
        f"{contract_url}/{pk}",
        json.dumps({"period_start": "2016-03-01"}),
        content_type="application/json",
        **evaluator,
    )
    assert revised.status_code == 200 and revised.json()["period_start"] == "2016-03-01"
    assert revised.json()["inputs"] == created.json()["inputs"]
    assert client.post(f"{contract_url}/{pk}/review", **evaluator).status_code == 200
    assert (
        client.post(
            f"{contract_url}/{pk}/comments",
            {"text": "ok"},
            content_type="application/json",
            **financier,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{contract_url}/{pk}/sign",
            {"totp_code": totp_code(world.evaluator)},
            content_type="application/json",
            **financier,
        ).status_code
        == 403
    )
    signed = client.post(
        f"{contract_url}/{pk}/sign",
        {"totp_code": totp_code(world.evaluator)},
        content_type="application/json",
        **evaluator,
    )
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    bundle = client.get(f"{contract_url}/{pk}/bundle", **financier)
    assert bundle.status_code == 200 and bundle.content.startswith(b"{\n")
    keys = client.get("/api/keys", **financier).json()
    assert signed.json()["key_fingerprint"] in {k["fingerprint"] for k in keys}


def test_the_api_gives_the_statement_for_people_in_the_asked_language(final_world, client):
    """Issue 15: the machine fields stay decimal strings; ``display`` has labels and figures
    written the language's way (Accept-Language)."""
    world = final_world
    financier = _bearer(world.users[Role.FINANCIER])
    url = f"/api/contracts/{world.contract.identifier}/settlements/{world.final.pk}"
    swedish = client.get(url, HTTP_ACCEPT_LANGUAGE="sv", **financier).json()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en", **financier).json()
    assert swedish["payments"] == english["payments"]  # machine fields unchanged
    machine = swedish["payments"][0]["amount_sek"]
    assert "." in machine or machine.isdigit()
    for body, language, unit in ((swedish, "sv", "\u00a0kr"), (english, "en", "SEK\u00a0")):
        shown = body["display"]
        assert shown["language"] == language
        assert all(unit in p["amount"] for p in shown["payments"])
        assert all("_" not in o["label"] for o in shown["outputs"])
        assert all(p["payer"] and p["payer"] != "None" for p in shown["payments"])
    assert swedish["display"]["status"] != english["display"]["status"]


def test_the_admin_shows_a_final_statement_read_only(final_world, client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_user(
        username="root", password="pw-test-123", is_staff=True, is_superuser=True
    )
    TOTP.activate(admin, generate_totp_secret())
    c = login_with_second_factor(client, admin)  # the admin needs both factors (0600)
    final = final_world.final
    before = _frozen(final)
    url = f"/admin/contracts/settlement/{final.pk}/change/"
    page = c.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    c.post(url, {"status": SettlementStatus.DRAFT, "correction_reason": "edited"})
    assert c.get(f"/admin/contracts/settlement/{final.pk}/delete/").status_code == 403
    c.post(f"/admin/contracts/settlement/{final.pk}/delete/", {"post": "yes"})
    assert c.get("/admin/contracts/settlement/add/").status_code == 403
    assert _frozen(final) == before
    assert c.get("/admin/settlements/ledgerrecord/1/change/").status_code in (200, 302)


def test_a_correction_through_the_pages_in_swedish_and_english(final_world, client):
    from django.conf import settings

    world = final_world
    final = world.final
    url = f"/contracts/{world.contract.identifier}/settlements/"
    c = _client(client, world.evaluator)
    swedish = c.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Påbörja en avräkning" in swedish and "Finansiering" in swedish
    form = c.get(f"{url}?correct={final.pk}").content.decode()
    assert 'name="correction_reason"' in form and f'name="supersedes" value="{final.pk}"' in form
    response = c.post(
        url,
        {
            **PERIOD,
            "supersedes": final.pk,
            "correction_reason": "the 2021 drawdown was missed",
        },
    )
    assert response.status_code == 302
    correction = Settlement.objects.order_by("-pk").first()
    assert correction.supersedes == final and correction.status == "draft"
    assert correction.correction_reason == "the 2021 drawdown was missed"
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = c.get(response["Location"], follow=True).content.decode()
    assert "How every figure was computed" in english and "the 2021 drawdown was missed" in english
