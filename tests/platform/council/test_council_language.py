"""Issue 15 on the council pages: every figure through the formatting layer in the reader's
language (pages, charts, the PDF), labels instead of identifiers, age groups in the order of
their ages, the CSV for Excel, and the slow steps as background jobs (both with the
immediate task backend the tests use and with a queue that runs them later)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from visibility_helpers import AGGREGATES_FOR_FINANCIER, with_individual_status

SWEDISH_GROUPED = re.compile(r"\d{1,3}(?:\u00a0\d{3})+")
ENGLISH_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")
ENGLISH_MILLIONS = re.compile(r"\b\d{1,3}(?:,\d{3}){2,}\b")
"""On a Swedish page ``0,706`` is a decimal; ``4,000,000`` can only be English."""


@pytest.fixture
def norrkoping_text(norrkoping_text):
    """The Norrköping contract in which the financier sees aggregates only (the shipped one
    lists it in council.individual_status; decision 0940)."""
    return with_individual_status(norrkoping_text, AGGREGATES_FOR_FINANCIER)


def _as(client, world, role: str, language: str):
    from django.conf import settings

    client.force_login(world.users[role])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _page(client, world) -> str:
    response = client.get(
        f"/contracts/{world.contract.identifier}/council/", {"as_of": world.as_of.isoformat()}
    )
    assert response.status_code == 200
    return response.content.decode()


def _json_script(page: str, element_id: str) -> dict:
    found = re.search(
        rf'<script id="{re.escape(element_id)}" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, element_id
    return json.loads(html.unescape(found.group(1)))


def _visible(page: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "decimal", "thousands", "unit"),
    [("sv", ",", "\u00a0", "\u00a0kr"), ("en", ".", ",", "SEK\u00a0")],
)
def test_the_page_hands_vega_embed_the_format_locale_of_its_language(
    council_world, client, language, decimal, thousands, unit
):
    world = council_world
    page = _page(_as(client, world, "provider", language), world)
    locale = _json_script(page, "vega-locale")
    assert locale["decimal"] == decimal and locale["thousands"] == thousands
    spec = _json_script(page, "costs-monthly-spec")
    # The card is headed by the title; the chart does not repeat it.
    assert "title" not in spec
    axes = json.dumps(spec)
    assert '"format": ",~f"' in axes
    text = _visible(page)
    figures = text[text.index(" ") :]
    assert unit in figures
    other = ENGLISH_MILLIONS if language == "sv" else SWEDISH_GROUPED
    own = SWEDISH_GROUPED if language == "sv" else ENGLISH_GROUPED
    assert own.search(text), "no grouped figure in the page's own form"
    assert not other.search(re.sub(r"\d{4}-\d{2}-\d{2}", "", text)), other.search(text)
    assert "invested_counted_sek" not in text and "_sek" not in text
    if language == "sv":
        assert "SEK" not in text.replace("SHA", "")


def test_council_js_passes_the_locale_to_vega_embed():
    from pathlib import Path

    import utfall.platform.council as council

    script = (Path(council.__file__).parent / "static/council/council.js").read_text()
    assert 'getElementById("vega-locale")' in script
    assert "options.formatLocale = locale" in script


@pytest.mark.django_db
def test_chart_svg_writes_axis_numbers_in_the_language():
    from utfall.platform.council.charts import chart_spec, chart_svg
    from utfall.platform.council.tables import Chart, Column, Table

    table = Table(
        "t",
        "Kostnader",
        [Column("month", "Månad", "int"), Column("cost", "Kostnad", "money")],
        [{"month": m, "cost": 1_000_000 * m - 2_000_000} for m in range(0, 6)],
        chart=Chart("lines", "month", "Månad", (("cost", "Kostnad"),), "kr"),
    )
    spec = chart_spec(table)
    assert spec is not None
    swedish = html.unescape(chart_svg(spec, "sv"))
    english = html.unescape(chart_svg(spec, "en"))
    assert "3\u00a0000\u00a0000" in swedish and "\u22122\u00a0000\u00a0000" in swedish
    assert "3,000,000" in english and "3,000,000" not in swedish
    assert "\u2212" not in english


@pytest.mark.django_db
def test_the_pdf_has_swedish_numbers_and_the_swedish_minus(council_world, client):
    pypdf = pytest.importorskip("pypdf")
    from utfall.platform.council import services

    world = council_world
    meeting = services.meeting_record(
        contract=world.contract,
        actor=world.users["commissioner"],
        held_on=world.as_of + dt.timedelta(days=10),
        as_of=world.as_of,
        title="Insatsråd kvartal 4",
    )
    _as(client, world, "provider", "sv")
    base = f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report"
    report = client.get(f"{base}.html?lang=sv").content.decode()
    text = _visible(report)
    assert SWEDISH_GROUPED.search(text) and "\u2212" in text
    assert not ENGLISH_MILLIONS.search(text)
    response = client.get(f"{base}.pdf?lang=sv")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    pdf_text = " ".join(page.extract_text() for page in reader.pages)
    assert "\u2212" in pdf_text
    assert re.search(r"\d{1,3}(?:[\u00a0 ]\d{3})+(?:,\d{2})?", pdf_text)
    assert not ENGLISH_MILLIONS.search(pdf_text)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["sv", "en"])
def test_csv_for_excel_has_semicolons_a_bom_decimal_commas_and_translated_headers(
    council_world, client, language
):
    world = council_world
    _as(client, world, "provider", language)
    url = f"/contracts/{world.contract.identifier}/council/tables/costs-monthly.csv"
    plain = client.get(url, {"as_of": world.as_of.isoformat()})
    excel = client.get(url, {"as_of": world.as_of.isoformat(), "form": "excel"})
    assert plain.status_code == excel.status_code == 200
    plain_rows = list(csv.reader(io.StringIO(plain.content.decode())))
    assert plain_rows[0][:2] == ["month", "n"]
    text = excel.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    header = rows[0]
    if language == "sv":
        assert header[0] == "Månad sedan inkludering" and header[-1] == "Undertryckt"
    else:
        assert header[0] == "Month since inclusion" and header[-1] == "Suppressed"
    values = [cell for row in rows[1:] for cell in row[2:6] if cell]
    assert values and all("." not in cell for cell in values)
    assert any("," in cell for cell in values)
    assert (
        'filename="' in excel["Content-Disposition"]
        and "-excel.csv" in excel["Content-Disposition"]
    )


def test_age_groups_are_sorted_by_age_not_as_text():
    from utfall.platform.council.tables import _number_first

    rows = [{"label": g} for g in ("13-15", "16-17", "18-20", "6-12")]
    assert [r["label"] for r in _number_first(rows)] == ["6-12", "13-15", "16-17", "18-20"]
    words = [{"label": g} for g in ("girls", "boys")]
    assert _number_first(words) == words


@pytest.mark.django_db
def test_the_settlement_figures_show_labels_and_formatted_values(council_world, client):
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.council.tables import dashboard_tables
    from utfall.services import labels

    world = council_world
    document = parsed_version(latest_version(world.contract))
    data = dashboard_compute(contract=world.contract, as_of=world.as_of)
    from django.utils import translation

    with translation.override("sv"):
        outputs = next(t for t in dashboard_tables(data, document) if t.id == "outputs")
        cells = outputs.cells()
    names = [row["values"][0] for row in cells]
    assert labels.label(document, "output", "invested_counted_sek", "sv") in names
    assert not any(re.fullmatch(r"[a-z]+(_[a-z]+)+", name) for name in names)
    values = [row["values"][1] for row in cells]
    assert not any(re.fullmatch(r"-?\d{4,}(\.\d+)?", value) for value in values), values


# --- background jobs ---------------------------------------------------------------------


@pytest.fixture
def queued_tasks(settings):
    """A task queue that only records (as the database queue before its worker runs)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import task_backends

    backend = task_backends["default"]
    yield backend
    backend.clear()


def _run(backend) -> None:
    for result in list(backend.results):
        result.task.call(*result.args, **result.kwargs)
    backend.clear()


@pytest.mark.django_db
def test_a_new_day_is_computed_in_the_background_with_progress(council_world, client, queued_tasks):
    world = council_world
    _as(client, world, "provider", "sv")
    base = f"/contracts/{world.contract.identifier}/council/"
    first = client.get(base, {"as_of": world.as_of.isoformat()})
    assert first.status_code == 200
    page = first.content.decode()
    assert 'data-testid="task-progress"' in page and "Översikten beräknas" in page
    assert 'data-testid="key-figures"' not in page
    # The small-cell rule is stated with its number before the figures are computed too.
    assert "när gruppen har färre än 5 individer" in _visible(page)
    assert len(queued_tasks.results) == 1
    # Asked again while it runs: no second job.
    assert client.get(base, {"as_of": world.as_of.isoformat()}).status_code == 200
    assert len(queued_tasks.results) == 1
    poll = client.get(f"{base}progress/", {"as_of": world.as_of.isoformat()})
    assert poll.status_code == 200 and 'hx-trigger="every 1s"' in poll.content.decode()
    _run(queued_tasks)
    done = client.get(f"{base}progress/", {"as_of": world.as_of.isoformat()})
    assert done.status_code == 204
    assert done["HX-Redirect"] == f"{base}?as_of={world.as_of.isoformat()}"
    shown = client.get(base, {"as_of": world.as_of.isoformat()}).content.decode()
    assert 'data-testid="key-figures"' in shown and 'data-testid="task-progress"' not in shown
    assert not queued_tasks.results


@pytest.mark.django_db
def test_the_financier_s_release_is_computed_in_the_background_too(
    council_world, client, queued_tasks
):
    world = council_world
    _as(client, world, "financier", "en")
    base = f"/contracts/{world.contract.identifier}/council/"
    page = client.get(base, {"as_of": world.as_of.isoformat()}).content.decode()
    assert "Computing the dashboard" in page
    _run(queued_tasks)
    shown = client.get(base, {"as_of": world.as_of.isoformat()}).content.decode()
    assert 'data-testid="key-figures"' in shown or 'data-testid="notes"' in shown
    assert 'data-testid="table-individuals"' not in shown


@pytest.mark.django_db
def test_the_pdf_is_made_in_the_background_for_whoever_asked(council_world, client, queued_tasks):
    from utfall.platform.council import services
    from utfall.platform.council.selectors import dashboard_compute

    world = council_world
    dashboard_compute(contract=world.contract, as_of=world.as_of)
    meeting = services.meeting_record(
        contract=world.contract,
        actor=world.users["commissioner"],
        held_on=world.as_of + dt.timedelta(days=10),
        as_of=world.as_of,
        title="Insatsråd kvartal 4",
    )
    _as(client, world, "provider", "sv")
    url = f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report.pdf"
    waiting = client.get(url, {"lang": "sv"})
    assert waiting.status_code == 200 and waiting["Content-Type"].startswith("text/html")
    text = waiting.content.decode()
    assert "PDF:en tas fram" in text
    job = re.search(r"report-progress/\?job=([0-9a-f]+)", text).group(1)
    progress = (
        f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report-progress/"
    )
    assert 'hx-trigger="every 1s"' in client.get(progress, {"job": job}).content.decode()
    assert client.get(url, {"job": job}).status_code == 404  # not ready yet
    _run(queued_tasks)
    ready = client.get(progress, {"job": job}).content.decode()
    assert "Ladda ned PDF:en" in ready and "hx-trigger" not in ready
    pdf = client.get(url, {"job": job})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Another user cannot fetch it.
    _as(client, world, "commissioner", "sv")
    assert client.get(url, {"job": job}).status_code == 404
