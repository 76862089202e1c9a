"""Issue 17 (Norrköping, last point): who sees the anonymised status per included individual
in the council is a term of the contract, ``council: individual_status`` (decision 0940).

Seed 000 p. 10: at the quarterly councils "samråder Finansiären och kommunen om insatsens
fortlöpande, teamets upplevelser av förutsättningarna för arbetet samt status för inkluderade
individer (anonymiserat)"; seed 001: LSV had "enbart indirekt tillgång till information om hur
insatsen löper". So the term's default, and the Norrköping contract, list the financier.

The data is the council tests' Norrköping set, imported with personal identity numbers (not
case references) so that the tests can show none of them ever reaches a page, the API, a CSV
or the report: only their keyed pseudonyms do.
"""

from __future__ import annotations

import json
import re

import pytest
from council_helpers import AS_OF, council_files, import_files
from django.core.exceptions import PermissionDenied
from platform_helpers import personnummer
from visibility_helpers import with_individual_status

from utfall.core.contracts import parse_contract
from utfall.errors import ContractInvalid

EVERY_ROLE = ["commissioner", "financier", "provider", "intermediary", "evaluator"]
_REFERENCE = re.compile(rb"\b[TR]-\d{3}\b")


def _with_identity_numbers(files: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """The files with each child's case reference replaced by a valid personal identity
    number (the identity column named ``personnummer``), and the numbers."""
    numbers: dict[bytes, str] = {}

    def number(match: re.Match[bytes]) -> bytes:
        reference = match.group(0)
        if reference not in numbers:
            numbers[reference] = personnummer(len(numbers) + 1)
        return numbers[reference].encode()

    out = {}
    for name, content in files.items():
        header, _, body = content.partition(b"\n")
        if b"participant" not in header.split(b",")[0]:
            out[name] = content
            continue
        out[name] = header.replace(b"participant", b"personnummer", 1) + b"\n"
        out[name] += _REFERENCE.sub(number, body)
    return out, list(numbers.values())


def _leaks(text: str, numbers: list[str]) -> list[str]:
    """The identity numbers (in any of their written forms) found in ``text``."""
    found = []
    for pnr in numbers:
        digits = pnr.replace("-", "")
        forms = (pnr, digits, pnr[2:], digits[2:])
        found += [form for form in forms if form in text]
    return found


@pytest.fixture
def identified(world):
    """The world with the council data imported by personal identity number."""
    from django.core.cache import cache

    from utfall.platform.council.selectors import _MEMO

    _MEMO.clear()
    cache.clear()
    files, numbers = _with_identity_numbers(council_files())
    import_files(world.contract, world.users, files)
    world.numbers = numbers
    return world


def _token(world, role) -> str:
    from utfall.platform.organisations.services import api_token_create

    return api_token_create(user=world.users[role], name="council")[1]


def _everything(client, world, role) -> dict[str, object]:
    """What the role is shown of the council: the page, the dashboard JSON, the API's
    dashboard and contract, the individuals CSV's status and text."""
    base = f"/contracts/{world.contract.identifier}/council"
    client.force_login(world.users[role])
    page = client.get(f"{base}/?as_of={AS_OF}")
    assert page.status_code == 200
    data = client.get(f"{base}/dashboard.json?as_of={AS_OF}").json()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {_token(world, role)}"}
    api = f"/api/contracts/{world.contract.identifier}"
    dashboard = client.get(f"{api}/council/dashboard", {"as_of": str(AS_OF)}, **headers).json()
    contract = client.get(api, **headers).json()
    csv = client.get(f"{base}/tables/individuals.csv?as_of={AS_OF}")
    return {
        "page": page.content.decode(),
        "json": data,
        "api": dashboard,
        "actions": contract["my_actions"],
        "csv_status": csv.status_code,
        "csv": csv.content.decode("utf-8-sig") if csv.status_code == 200 else "",
    }


def test_without_a_declaration_every_role_sees_the_status_and_a_declaration_narrows_it(
    norrkoping_text,
):
    """Seed 000 p. 10: "samråder Finansiären och kommunen om … status för inkluderade individer
    (anonymiserat)": a contract that says nothing shows it to every party role, the financier
    included; the Norrköping contract says so explicitly; an unknown role is refused."""
    declared = parse_contract(norrkoping_text, source="norrkoping.yaml")
    assert list(declared.document.council.individual_status) == EVERY_ROLE
    block = re.compile(r"^council:\n  individual_status: \[[a-z, ]*\]\n", re.MULTILINE)
    silent, count = block.subn("", norrkoping_text)
    assert count == 1
    assert list(parse_contract(silent).document.council.individual_status) == EVERY_ROLE
    narrowed = parse_contract(with_individual_status(norrkoping_text, ("evaluator",)))
    assert list(narrowed.document.council.individual_status) == ["evaluator"]
    with pytest.raises(ContractInvalid) as refused:
        parse_contract(with_individual_status(norrkoping_text, ("financier", "public")))
    assert any("council.individual_status" in str(f.path) for f in refused.value.findings)


@pytest.mark.django_db
def test_the_financier_the_term_lists_sees_pseudonyms_and_never_an_identity_number(
    identified, client
):
    """Seed 001: LSV regretted "enbart indirekt tillgång till information om hur insatsen
    löper". Listed, the financier sees on the page, in the JSON, the API, the CSV and the
    quarterly report the same status list (and the same suppressed figures) as the
    commissioner: keyed pseudonyms, never a personal identity number."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import selectors, services
    from utfall.platform.tables import StoredTables

    world = identified
    people = StoredTables(world.contract).table("participants")
    # The status list shows the start of each keyed pseudonym.
    pseudonyms = {p[:12] for p in people.column("participant").to_pylist()}
    assert len(pseudonyms) == 42 and not _leaks(json.dumps(sorted(pseudonyms)), world.numbers)
    financier = _everything(client, world, Role.FINANCIER)
    commissioner = _everything(client, world, Role.COMMISSIONER)
    assert "view_individual_status" in financier["actions"]
    assert 'data-testid="table-individuals"' in financier["page"]
    assert 'data-testid="individual-status-roles"' not in financier["page"]
    rows = financier["json"]["individuals"]["rows"]
    assert len(rows) == 12 and {row["pseudonym"] for row in rows} <= pseudonyms
    assert rows[0]["pseudonym"][:12] in financier["page"]
    assert financier["api"]["individuals"] == financier["json"]["individuals"]
    # The dashboard the team sees, small cells suppressed the same way; no release.
    assert financier["json"] == commissioner["json"]
    assert "reporting_dates" not in financier["json"]
    assert financier["csv_status"] == 200
    assert financier["csv"].count("\n") == 13 and rows[0]["pseudonym"][:12] in financier["csv"]
    listed = selectors.individual_status(
        user=world.users[Role.FINANCIER], contract=world.contract, as_of=AS_OF
    )
    assert [row["pseudonym"] for row in listed] == [row["pseudonym"] for row in rows]
    meeting = services.meeting_record(
        contract=world.contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=AS_OF,
        as_of=AS_OF,
        title="Insatsråd",
        agenda="1. Status för inkluderade individer",
    )
    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}"
    report = client.get(f"{url}/report.html?lang=sv").content.decode()
    meeting_page = client.get(f"{url}/").content.decode()
    assert rows[0]["pseudonym"][:12] in report and "table-individuals" in meeting_page
    for shown in (*financier.values(), *commissioner.values(), report, meeting_page):
        assert not _leaks(json.dumps(shown, default=str), world.numbers)


@pytest.mark.django_db
def test_roles_the_term_does_not_list_see_aggregates_only(identified, client):
    """A newer version of the contract lists the commissioner and the evaluator only: the
    financier, the provider and the intermediary get the aggregates on the reporting dates
    (as the financier did before the term), told who sees the status; the two listed do."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_version_upload
    from utfall.platform.council import selectors

    world = identified
    text = with_individual_status(
        world.contract.versions.get(number=1).text, ("commissioner", "evaluator")
    )
    contract_version_upload(
        contract=world.contract,
        text=text,
        actor=world.users[Role.COMMISSIONER],
        file_name="narrowed.yaml",
    )
    for role in (Role.FINANCIER, Role.PROVIDER, Role.INTERMEDIARY):
        shown = _everything(client, world, role)
        assert "view_individual_status" not in shown["actions"], role
        assert 'data-testid="table-individuals"' not in shown["page"], role
        assert (
            "Beställare, Utvärderare" in shown["page"]
            or "Commissioner, Evaluator" in (shown["page"])
        ), role
        assert "individuals" not in shown["json"] and "individuals" not in shown["api"], role
        assert shown["json"]["reporting_dates"], role  # a release, not the day's dashboard
        assert shown["csv_status"] == 404, role
        with pytest.raises(PermissionDenied):
            selectors.individual_status(user=world.users[role], contract=world.contract)
        assert not _leaks(json.dumps(shown), world.numbers), role
    for role in (Role.COMMISSIONER, Role.EVALUATOR):
        assert len(selectors.individual_status(user=world.users[role], contract=world.contract))
