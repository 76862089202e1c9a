"""Pages show the contract's labels in the active language, never its identifiers."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation
from platform_helpers import upload

from utfall.core.contracts import parse_contract
from utfall.platform.contracts.models import Role

NORRKOPING = (
    Path(__file__).resolve().parents[3] / "examples/contracts/norrkoping-placed-children.yaml"
)


def _visible(html: str) -> str:
    """The text a person reads: no tags, attributes, scripts or code blocks."""
    html = re.sub(r"(?s)<(script|style|pre|code)\b.*?</\1>", " ", html)
    return unescape(re.sub(r"(?s)<[^>]+>", " ", html))


def test_the_template_tag_in_both_languages() -> None:
    contract = parse_contract(NORRKOPING.read_text(encoding="utf-8"), source="n.yaml")
    template = Template(
        '{% load labels %}{% label c "output" "invested_counted_sek" %}|'
        '{% label c "party" "tutoring" %}|{% label c "cost_category" "outpatient" %}|'
        '{% label c "output" "something_new_sek" as x %}{{ x }}|{{ "commissioner"|role_label }}'
    )
    with translation.override("sv"):
        assert template.render(Context({"c": contract})) == (
            "Investerat belopp som räknas|Upphandlad leverantör av läxhjälp (tutoring)|"
            "Öppenvård|Something new (kr)|Beställare"
        )
    with translation.override("en"):
        assert template.render(Context({"c": contract.document})) == (
            "Invested amount counted|Procured tutoring provider|Outpatient care|"
            "Something new (SEK)|Commissioner"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_contract_page_names_every_part_by_its_label(client, world, language) -> None:
    client.force_login(world.users[Role.PROVIDER])
    if language == "en":
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = _visible(client.get(f"/contracts/{world.contract.identifier}/").text)
    contract = parse_contract(NORRKOPING.read_text(encoding="utf-8"), source="n.yaml")
    identifiers = [
        *contract.outputs,
        *contract.inputs,
        *contract.parameters,
        *(p.id for p in contract.payments),
    ]
    # (one-word identifiers such as "premium" are ordinary words of the descriptions)
    shown = [name for name in identifiers if "_" in name and re.search(rf"\b{name}\b", page)]
    assert shown == [], f"identifiers on the {language} contract page: {shown}"
    if language == "sv":
        for text in (
            "Investerat belopp som räknas",
            "Garanterad andel",
            "Utvärderad nettobesparing",
            "Inget avropat – inget att betala",
            "Finansiär",
        ):
            assert text in page
        assert "nothing drawn – nothing owed" not in page
    else:
        for text in ("Invested amount counted", "nothing drawn – nothing owed", "Financier"):
            assert text in page
    assert " lsv " not in page and "— financier" not in page


@pytest.mark.django_db
def test_a_contract_upload_error_in_swedish(client, world) -> None:
    client.force_login(world.users[Role.COMMISSIONER])
    text = NORRKOPING.read_text(encoding="utf-8").replace("to: lsv", "to: lsw", 1)
    response = client.post(
        f"/contracts/{world.contract.identifier}/versions/",
        {"file": upload("norrkoping.yaml", text), "amendment_reason": "Rättelse"},
    )
    page = _visible(response.text)
    assert "”lsw” är inte en part i kontraktet" in page, page[-3000:]
    assert "unknown party" not in page
