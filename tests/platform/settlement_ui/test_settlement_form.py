"""The settlement form (issue 15, point 1): numbers typed as people type them, errors at the
field naming the input by its label, no server path or YAML line in any message, and the
invested amount prefilled from the stored cost reports."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from utfall.platform.contracts.models import Settlement

pytestmark = pytest.mark.django_db

PERIOD = {"period_start": "2016-02-15", "period_end": "2021-12-31"}
LABEL_SV = "Investerat belopp"


def _url(world) -> str:
    return f"/contracts/{world.contract.identifier}/settlements/"


def _post(client, world, value: str, reason: str = "kostnadsrapporterna, bokslut 2021"):
    client.force_login(world.evaluator)
    return client.post(
        _url(world),
        {**PERIOD, "value_invested_sek": value, "reason_invested_sek": reason},
        HTTP_ACCEPT_LANGUAGE="sv",
    )


def _field_error(html: str) -> str:
    """The text of the error next to the invested amount's field."""
    match = re.search(
        r'id="id_value_invested_sek".*?<small class="[^"]*error[^"]*"[^>]*>(.*?)</small>',
        html,
        re.S,
    )
    if match is None:
        match = re.search(r'class="[^"]*errorlist[^"]*"[^>]*>(.*?)</', html, re.S)
    assert match, "no error at the field"
    return match.group(1)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("10 000 000,00", "10000000.00"),
        ("10\u00a0000\u00a0000,00", "10000000.00"),
        ("10000000", "10000000"),
        ("9999999,5", "9999999.5"),
        ("9999999.5", "9999999.5"),
    ],
)
def test_money_typed_in_swedish_or_plain_form_is_read(manual_world, client, typed, stored):
    response = _post(client, manual_world, typed)
    assert response.status_code == 302, response.content.decode()[:2000]
    statement = Settlement.objects.order_by("-pk").first()
    assert statement.manual_inputs["invested_sek"]["value"] == stored
    assert Decimal(statement.result["inputs"]["invested_sek"]) == Decimal(stored)


def test_a_value_that_cannot_be_read_is_refused_at_its_field(manual_world, client):
    before = Settlement.objects.count()
    response = _post(client, manual_world, "tio miljoner")
    html = response.content.decode()
    assert response.status_code == 200 and Settlement.objects.count() == before
    error = _field_error(html)
    assert LABEL_SV in error and "10\u00a0000\u00a0000,00" in error
    for leak in ("/tmp/", "/work/", ".yaml", "statement facts", ":2 "):
        assert leak not in html


def test_too_many_decimals_and_bounds_are_named_in_words(manual_world, client):
    error = _field_error(_post(client, manual_world, "10 000 000,005").content.decode())
    assert LABEL_SV in error and "öre" in error
    error = _field_error(_post(client, manual_world, "−5").content.decode())
    assert LABEL_SV in error and "0" in error


def test_the_service_reads_swedish_numbers_for_every_caller(manual_world):
    """The API and the pages both go through settlement_start: the check is made there, and
    its findings name the input, never a file or a line."""
    from utfall.errors import FindingsError
    from utfall.platform.settlements.services import settlement_start

    world = manual_world
    kwargs = dict(
        contract=world.contract,
        actor=world.evaluator,
        period_start=dt.date(2016, 2, 15),
        period_end=dt.date(2021, 12, 31),
    )
    draft = settlement_start(**kwargs, manual_inputs={"invested_sek": ("10 000 000,00", "k")})
    assert draft.manual_inputs["invested_sek"]["value"] == "10000000.00"
    with pytest.raises(FindingsError) as caught:
        settlement_start(**kwargs, manual_inputs={"invested_sek": ("abc", "k")})
    (finding,) = caught.value.findings
    assert finding.path == "invested_sek" and finding.file is None and finding.line is None
    assert str(finding) == f"invested_sek: {finding.message}"


def test_the_invested_amount_is_prefilled_from_the_cost_reports(manual_world, client):
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.settlements.overview import inputs_from_cost_reports
    from utfall.platform.settlements.services import manual_inputs_needed

    world = manual_world
    document = parsed_version(latest_version(world.contract))
    manual = manual_inputs_needed(document)
    given = inputs_from_cost_reports(contract=world.contract, document=document, manual=manual)
    drawn, reason = given["invested_sek"]
    assert drawn > Decimal(9_000_000)
    assert "cost reports" in reason or "kostnadsrapporterna" in reason
    client.force_login(world.evaluator)
    html = client.get(_url(world), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert 'data-testid="prefilled"' in html
    from utfall.services.formatting import number

    shown = number(drawn, "sv")
    assert f'value="{shown}"' in html  # in Swedish form, editable
    assert f'<label for="id_value_invested_sek">{LABEL_SV}' in html


def test_starting_runs_as_a_task_with_progress(manual_world, client):
    """The start goes through the background task; the job page shows progress while it is
    queued or running and sends the evaluator to the statement when it is done."""
    from utfall.platform.settlements.services import _job_set

    response = _post(client, manual_world, "10 000 000,00")
    job_url = response["Location"]
    assert "/settlements/jobs/" in job_url
    done = client.get(job_url)
    assert done.status_code == 302 and "/settlements/" in done["Location"]
    job = job_url.rstrip("/").rsplit("/", 1)[1]
    _job_set(job, state="running")
    page = client.get(job_url).content.decode()
    assert 'data-testid="statement-progress"' in page and "hx-get" in page
    partial = client.get(job_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'data-state="running"' in partial
    _job_set(job, state="failed", message="the evaluation failed", findings=[])
    failed = client.get(job_url).content.decode()
    assert 'data-testid="error"' in failed and "hx-get" not in failed
    client.force_login(manual_world.users[next(iter(manual_world.users))])
    other = client.get(job_url)
    assert other.status_code == 404 or other.status_code == 403
