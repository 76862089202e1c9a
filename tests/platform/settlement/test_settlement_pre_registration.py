"""Pre-registration (decision 0718): the commissioner registers an evaluation's spec and
design figures on the design page before any data is imported; the statement page then
says whether the specs used are the registered ones."""

from __future__ import annotations

import pytest
from settlement_helpers import build_world, import_synthetic, make_final

from utfall.core.ledger import KIND_PRE_REGISTRATION
from utfall.platform.contracts.models import Role

DESIGN = "method: did\nalpha: 0.05\npower: 0.8\neffect: 20\nsd: 40\nautocorrelation: 0.5\n"

pytestmark = pytest.mark.django_db


def test_register_before_import_and_the_statement_shows_the_match(client):
    from utfall.platform.settlements.models import LedgerRecord

    world = build_world(with_data=False)
    identifier = world.contract.identifier
    url = f"/contracts/{identifier}/design/"

    client.force_login(world.users[Role.FINANCIER])
    page = client.get(url)
    assert page.status_code == 200
    assert b'data-testid="register"' not in page.content  # only the commissioner registers
    preview = client.post(url, {"evaluation": "school", "design": DESIGN, "action": "preview"})
    assert preview.status_code == 200 and b'data-testid="power-curve"' in preview.content
    assert b'data-testid="n-per-group">64<' in preview.content
    refused = client.post(url, {"evaluation": "school", "design": DESIGN, "action": "register"})
    assert refused.status_code == 403

    client.force_login(world.users[Role.COMMISSIONER])
    bad = client.post(url, {"evaluation": "school", "design": "method: did\neffect: 3\n"})
    assert b"effect needs sd" in bad.content
    mismatch = client.post(
        url, {"evaluation": "school", "design": "method: proportions\neffect_size: 0.3\n"}
    )
    assert b"plan it as did" in mismatch.content
    done = client.post(url, {"evaluation": "school", "design": DESIGN, "action": "register"})
    assert done.status_code == 302
    entry = LedgerRecord.objects.get(kind=KIND_PRE_REGISTRATION)
    registration = entry.attributes["registration"]
    assert registration["contract_sha256"] == world.contract.versions.get().sha256
    assert registration["evaluations"]["school"]["design"]["n_per_group"] == 64
    # Every evaluation's spec is registered; the design figures of the one planned.
    assert "costs" in registration["evaluations"]
    assert registration["evaluations"]["costs"]["design"] == {}
    registered_page = client.get(url).content.decode()
    assert "Registrerad i liggarpost" in registered_page  # Swedish by default (make compiles)

    import_synthetic(world, scenario="norrkoping", size=20, seed=11)
    late = client.post(url, {"evaluation": "school", "design": DESIGN, "action": "register"})
    assert b"before the outcome data" in late.content
    assert LedgerRecord.objects.filter(kind=KIND_PRE_REGISTRATION).count() == 1

    statement = make_final(world)
    shown = client.get(
        f"/contracts/{identifier}/settlements/{statement.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert shown.status_code == 200
    assert b'data-testid="registration-status" data-status="match"' in shown.content


def test_a_statement_without_registration_says_so(client):
    world = build_world()
    statement = make_final(world)
    client.force_login(world.users[Role.COMMISSIONER])
    shown = client.get(f"/contracts/{world.contract.identifier}/settlements/{statement.pk}/")
    assert b'data-status="none"' in shown.content


def test_a_changed_spec_is_listed_as_a_deviation(client):
    from utfall.platform.contracts.services import contract_version_upload
    from utfall.platform.design.services import design_register

    world = build_world(with_data=False)
    commissioner = world.users[Role.COMMISSIONER]
    design_register(contract=world.contract, evaluation="school", text=DESIGN, actor=commissioner)
    school = "    post: post\n    ci: {method: analytic, level: 0.95}"
    assert world.text.count(school) == 1
    amended = world.text.replace(school, "    post: post\n    ci: {method: analytic, level: 0.9}")
    contract_version_upload(
        contract=world.contract,
        text=amended.replace('version: "1.0"', 'version: "1.1"', 1),
        actor=commissioner,
        file_name="norrkoping-placed-children.yaml",
    )
    import_synthetic(world, scenario="norrkoping", size=20, seed=11)
    statement = make_final(world)
    client.force_login(commissioner)
    shown = client.get(
        f"/contracts/{world.contract.identifier}/settlements/{statement.pk}/",
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert 'data-status="deviation"' in shown
    assert "<code>ci.level</code>: 0.95 → 0.9" in shown
