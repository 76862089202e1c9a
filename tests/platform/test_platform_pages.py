"""Pages: Swedish by default and switchable to English, rendering, amendments, access."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from platform_helpers import upload

from utfall.errors import ContractInvalid
from utfall.platform.contracts.models import Role
from utfall.platform.contracts.services import contract_put_in_force, contract_version_upload

PO = Path(__file__).resolve().parents[2] / "src/utfall/platform/locale/sv/LC_MESSAGES/django.po"


def test_every_string_has_a_swedish_translation():
    catalogue = read_po(PO.open("rb"))
    untranslated = [
        m.id
        for m in catalogue
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert untranslated == []


@pytest.mark.django_db
def test_swedish_by_default_and_english_on_request(client, world):
    client.force_login(world.users[Role.FINANCIER])
    assert "Dina kontrakt" in client.get("/").text
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Your contracts" in client.get("/").text


@pytest.mark.django_db
def test_contract_page_renders_terms_formulas_and_tests(client, world):
    client.force_login(world.users[Role.PROVIDER])
    page = client.get(f"/contracts/{world.contract.identifier}/").text
    assert "guarantee_share" in page and "Testfall" in page
    assert page.count('class="plain-language"') >= 1


@pytest.mark.django_db
def test_a_contract_in_force_is_only_amended_with_a_reason(world):
    commissioner = world.users[Role.COMMISSIONER]
    contract_put_in_force(contract=world.contract, actor=commissioner)
    text = world.contract.versions.get(number=1).text + "\n# clarified\n"
    with pytest.raises(ContractInvalid) as caught:
        contract_version_upload(
            contract=world.contract, text=text, actor=commissioner, file_name="v2.yaml"
        )
    assert caught.value.findings[0].code == "amendment-reason-missing"
    version = contract_version_upload(
        contract=world.contract,
        text=text,
        actor=commissioner,
        file_name="v2.yaml",
        amendment_reason="Typo in a comment",
    )
    assert version.number == 2 and world.contract.versions.count() == 2
    event = world.contract.audit_events.filter(action="contract.amended").get()
    assert event.actor == commissioner and event.details["reason"] == "Typo in a comment"


@pytest.mark.django_db
def test_pages_refuse_what_the_role_does_not_allow(client, world):
    client.force_login(world.users[Role.FINANCIER])
    base = f"/contracts/{world.contract.identifier}"
    assert client.get(f"{base}/participants/").status_code == 403
    assert client.get(f"{base}/audit/").status_code == 200
    response = client.post(
        f"{base}/imports/",
        {"table": "participants", "encoding": "utf-8", "file": upload("p.csv", "a,b\n1,2\n")},
    )
    assert response.status_code == 403
    client.force_login(world.outsider)
    assert client.get(f"{base}/").status_code == 404


@pytest.mark.django_db
def test_evaluators_must_set_up_two_factor(client, world):
    client.force_login(world.users[Role.EVALUATOR])
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/2fa/totp/activate" in response["Location"]
    client.force_login(world.users[Role.COMMISSIONER])
    assert client.get("/").status_code == 200
