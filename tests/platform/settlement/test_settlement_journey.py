"""The journey of a contract paid by a rate card, through the REST API and in Chromium.

A commissioner uploads the contract, downloads the import templates of its tables,
imports participants (CSV) and events (XLSX) filled in from ``utfall synth`` output,
sees the council dashboard with the outcome funnel; the evaluator settles and signs;
``utfall verify`` accepts the bundle. The contracts are found by what they declare (an
evaluation with the ``rate_card`` method and a synthetic scenario in the demo's table):
nothing here names one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from platform_helpers import browser_sign_in, totp_code, xlsx_fill
from settlement_helpers import ROOT, add_parties, build_world, fast_text, synthesise
from typer.testing import CliRunner

from utfall.cli.main import app

EXAMPLES = ROOT / "examples" / "contracts"
SHOTS = ROOT / "var" / "screenshots"


def _rate_card_contracts() -> list[Path]:
    from utfall.core.contracts import parse_contract
    from utfall.platform.demo import SYNTHETIC
    from utfall.synth import SCENARIOS

    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        document = parse_contract(path.read_text(encoding="utf-8"), source=path.name)
        plan = SYNTHETIC.get(document.id)
        methods = {spec.method for spec in document.evaluations.values()}
        if "rate_card" in methods and plan is not None and plan.scenario in SCENARIOS:
            found.append(path)
    return found


CONTRACTS = _rate_card_contracts()


def _synthetic(document, folder: Path) -> dict[str, list[dict[str, str]]]:
    """The scenario's declared tables as rows of text, by table name."""
    from utfall.platform.demo import SYNTHETIC

    plan = SYNTHETIC[document.id]
    synthesise(plan.scenario, folder, size=60, seed=2016)
    rows = {}
    for table in document.data:
        path = folder / f"{table.name}.csv"
        if path.is_file():
            with path.open(encoding="utf-8") as source:
                rows[table.name] = list(csv.DictReader(source))
    return rows


def _filled(table, rows: list[dict[str, str]]) -> list[list[str]]:
    """The rows in the template's column order: the reference, then the declared columns."""
    first = ["participant"] if table.per_participant else []
    return [[row.get(name) or "" for name in (*first, *table.column_names)] for row in rows]


def _csv(template: bytes, rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return template + out.getvalue().encode("utf-8")


def _period(document) -> tuple[dt.date, dt.date]:
    periods = list(document.periods.values())
    return min(p.start for p in periods), max(p.end for p in periods)


def _verify(bundle: bytes, folder: Path) -> None:
    path = folder / "bundle.json"
    path.write_bytes(bundle)
    result = CliRunner().invoke(app, ["verify", str(path)])
    assert result.exit_code == 0, result.output


def _bearer(user) -> dict[str, str]:
    from utfall.platform.organisations.services import api_token_create

    _record, clear = api_token_create(user=user, name="journey")
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}"}


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.skipif(not CONTRACTS, reason="no shipped contract pays by a rate card")
@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_the_rate_card_journey_through_the_rest_api(path, client, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.core.contracts import parse_contract
    from utfall.platform.contracts.models import Contract, Role

    text = fast_text(path)
    document = parse_contract(text, source=path.name)
    world = build_world(create_contract=False)
    tokens = {role: _bearer(user) for role, user in world.users.items()}
    created = client.post(
        "/api/contracts",
        {
            "organisation_id": world.organisations[Role.COMMISSIONER].pk,
            "file": SimpleUploadedFile(path.name, text.encode("utf-8")),
        },
        **tokens[Role.COMMISSIONER],
    )
    assert created.status_code == 201, created.content
    world.contract = Contract.objects.get(identifier=document.id)
    add_parties(world)
    # A token carries the roles of its issue only (decision 0602): the parties make theirs now.
    tokens.update(
        {role: _bearer(user) for role, user in world.users.items() if role != Role.COMMISSIONER}
    )
    base = f"/api/contracts/{document.id}"
    tables = client.get(f"{base}/tables", **tokens[Role.COMMISSIONER]).json()
    assert [t["name"] for t in tables] == list(document.data.names)
    data = _synthetic(document, tmp_path / "synth")
    for index, table in enumerate(tables):
        if table["name"] not in data:
            continue
        declared = document.data.table(table["name"])
        role = Role(table["import_roles"][0])
        headers = tokens[role]
        form = "csv" if index % 2 == 0 else "xlsx"  # participants as CSV, events as XLSX
        template = client.get(
            f"{base}/tables/{table['name']}/template",
            {"format": form, "language": "en", "identity": "reference"},
            **headers,
        )
        assert template.status_code == 200, template.content
        rows = _filled(declared, data[table["name"]])
        content = (
            _csv(template.content, rows) if form == "csv" else xlsx_fill(template.content, rows)
        )
        batch = client.post(
            f"{base}/imports",
            {
                "table": table["name"],
                "file": SimpleUploadedFile(f"{table['name']}.{form}", content),
            },
            **headers,
        ).json()
        assert batch["status"] == "ready", batch  # the template's headers need no mapping
        checked = client.post(f"{base}/imports/{batch['id']}/validate", **headers).json()
        assert checked["status"] == "valid", checked["findings"][:5]
        done = client.post(f"{base}/imports/{batch['id']}/commit", **headers).json()
        assert (done["status"], done["rows_written"]) == ("committed", len(rows))
    start, end = _period(document)
    dashboard = client.get(
        f"{base}/council/dashboard", {"as_of": end.isoformat()}, **tokens[Role.COMMISSIONER]
    )
    assert dashboard.status_code == 200, dashboard.content
    assert "funnel" in json.dumps(dashboard.json())
    evaluator = tokens[Role.EVALUATOR]
    statement = client.post(
        f"{base}/settlements",
        {"period_start": start.isoformat(), "period_end": end.isoformat()},
        content_type="application/json",
        **evaluator,
    )
    assert statement.status_code == 201, statement.content
    pk = statement.json()["id"]
    assert client.post(f"{base}/settlements/{pk}/review", **evaluator).status_code == 200
    signed = client.post(
        f"{base}/settlements/{pk}/sign",
        {"totp_code": totp_code(world.evaluator)},
        content_type="application/json",
        **evaluator,
    )
    assert signed.status_code == 200 and signed.json()["status"] == "signed", signed.content
    bundle = client.get(f"{base}/settlements/{pk}/bundle", **tokens[Role.FINANCIER])
    _verify(bundle.content, tmp_path)


@pytest.fixture
def page(browser):
    context = browser.new_context(
        locale="sv-SE", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    return context.new_page()


def _sign_in(page, base: str, username: str, code_for=None) -> None:
    browser_sign_in(page, base, username, (lambda: totp_code(code_for)) if code_for else None)


def _sign_out(page, base: str) -> None:
    page.click("header form button[type=submit]")
    page.wait_for_url(f"{base}/**")


def _import_in_the_browser(page, base, identifier, declared, rows, form, folder) -> None:
    """Download the table's template from the import page, fill it in, upload, commit."""
    page.goto(f"{base}/contracts/{identifier}/imports/")
    section = page.locator(f"[data-testid=declared-table][data-table={declared.name}]")
    with page.expect_download() as download:
        section.locator(f"[data-testid=template-reference-{form}]").click()
    template = folder / f"template-{declared.name}.{form}"
    download.value.save_as(template)
    filled = folder / f"{declared.name}.{form}"
    data = template.read_bytes()
    filled.write_bytes(_csv(data, rows) if form == "csv" else xlsx_fill(data, rows))
    page.select_option("#id_table", declared.name)
    page.set_input_files("#id_file", str(filled))
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=preview]")
    page.click("button[name=validate]")
    page.wait_for_selector("[data-testid=import-status][data-status=valid]", timeout=60_000)
    page.click("button[name=commit]")
    page.wait_for_selector("[data-testid=import-status][data-status=committed]", timeout=60_000)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not CONTRACTS, reason="no shipped contract pays by a rate card")
@pytest.mark.parametrize("path", CONTRACTS[:1], ids=lambda p: p.stem)
def test_the_rate_card_journey_in_chromium(path, page, live_server, tmp_path):
    from utfall.core.contracts import parse_contract
    from utfall.platform.contracts.models import Contract, Role

    text = fast_text(path)
    document = parse_contract(text, source=path.name)
    world = build_world(create_contract=False)
    contract_file = tmp_path / path.name
    contract_file.write_text(text, encoding="utf-8")
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)

    _sign_in(page, base, "commissioner")
    page.select_option("#id_organisation", label="Org commissioner")
    page.set_input_files("#id_file", str(contract_file))
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=test-cases]")
    world.contract = Contract.objects.get(identifier=document.id)
    add_parties(world)
    data = _synthetic(document, tmp_path / "synth")
    signed_in = "commissioner"
    for index, declared in enumerate(document.data):
        if declared.name not in data:
            continue
        role = declared.import_roles[0]
        if role != signed_in:
            _sign_out(page, base)
            _sign_in(page, base, role, world.users[Role(role)] if role == "evaluator" else None)
            signed_in = role
        _import_in_the_browser(
            page,
            base,
            document.id,
            declared,
            _filled(declared, data[declared.name]),
            "csv" if index % 2 == 0 else "xlsx",
            tmp_path,
        )
    page.goto(f"{base}/contracts/{document.id}/imports/")
    page.screenshot(path=str(SHOTS / "imports-declared-tables.png"), full_page=True)
    page.goto(f"{base}/contracts/{document.id}/participants/")
    page.wait_for_selector("[data-testid=participants]")
    page.screenshot(path=str(SHOTS / "participants-declared.png"), full_page=True)

    start, end = _period(document)
    response = page.goto(f"{base}/contracts/{document.id}/council/?as_of={end.isoformat()}")
    assert response.status == 200
    assert "funnel" in page.content()  # the rate card's panel
    page.screenshot(path=str(SHOTS / "council-rate-card.png"), full_page=True)

    _sign_out(page, base)
    _sign_in(page, base, "evaluator", world.evaluator)
    page.goto(f"{base}/contracts/{document.id}/settlements/")
    page.fill("#id_period_start", start.isoformat())
    page.fill("#id_period_end", end.isoformat())
    page.click("button[name=start]")
    page.wait_for_selector("[data-testid=explanation]", timeout=60_000)
    card = next(s for s in document.document.evaluations.values() if s.method == "rate_card")
    assert card.label is not None and card.label.sv in page.inner_text("[data-testid=evaluations]")
    page.click("button[name=action][value=review]")
    page.click("[data-testid=confirm-ok]")  # the step is confirmed first (issue 15)
    page.wait_for_selector("[data-testid=statement][data-status=review]")
    page.fill("#id_totp_code", totp_code(world.evaluator))
    page.click("[data-testid=sign-form] button[type=submit]")
    page.click("[data-testid=confirm-ok]")
    page.wait_for_selector("[data-testid=statement][data-status=signed]", timeout=60_000)
    with page.expect_download() as download:
        page.click("[data-testid=bundle-link]")
    bundle = tmp_path / "downloaded.json"
    download.value.save_as(bundle)
    _verify(bundle.read_bytes(), tmp_path)
