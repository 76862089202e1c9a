"""The fund's pages Swedish-first (issue 15): figures through the formatting layer, typed
numbers in Swedish form, lists as formsets with labelled selects, errors next to the button,
a confirmation on every irreversible step, labels instead of codes, section headings and a
chart of the budget."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from fund_workflow import evaluate_and_sign
from test_fund_pages import call_form, formset

from utfall.platform.fund import services
from utfall.platform.fund.models import Application, Review

MSEK = Decimal(1_000_000)
NBSP = "\u00a0"
# A snake_case identifier, a Python repr or a plain figure of five or more digits.
IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\{'|Decimal\(|\bNone\b")
RAW_FIGURE = re.compile(r"(?<![\d\-–])\d{5,}(?:\.\d+)?(?![\d\-])")
ENGLISH = re.compile(r"\b(seed \d+|Seed \d+|municipality|civil_society|SEK)\b")


class _Visible(HTMLParser):
    """The text a person reads in <main> (no script, template or attribute values)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        if tag in ("script", "style", "template"):
            self.hidden -= 1

    def handle_data(self, data):
        if self.depth and not self.hidden:
            self.parts.append(data)


def visible(response) -> str:
    parser = _Visible()
    parser.feed(response.content.decode())
    # Only ordinary white space: the no-break spaces of the figures are kept.
    return re.sub(r"[ \t\r\n]+", " ", " ".join(parser.parts)).strip()


def _paid(w):
    """A baseline and a six-monthly report, evaluated, signed off and paid."""

    def report(start, school, work, baseline=False):
        return services.report_submit(
            constellation=w.constellation,
            actor=w.applicant,
            period_start=start,
            period_end=start + timedelta(days=180),
            reported_costs_to_date=Decimal(0) if baseline else 4 * MSEK,
            lines=[
                {"indicator": w.indicators["school_absence"], "n": 200, "count": school},
                {"indicator": w.indicators["work_or_studies"], "n": 150, "count": work},
            ],
            is_baseline=baseline,
        )

    report(date(2025, 1, 1), 40, 90, baseline=True)
    second = report(date(2025, 7, 1), 20, 110)
    evaluate_and_sign(w, second)
    return services.report_pay(report=second, actor=w.admin, year=2026)


def _pages(w):
    return [
        f"/fund/{w.fund.pk}/",
        f"/fund/calls/{w.call.pk}/",
        f"/fund/applications/{w.application.pk}/",
        f"/fund/constellations/{w.constellation.pk}/",
        "/fund/indicators/",
    ]


def test_swedish_pages_show_figures_labels_and_no_code(client, selected):
    w = selected
    _paid(w)
    client.force_login(w.admin)
    for path in _pages(w):
        text = visible(client.get(path, HTTP_ACCEPT_LANGUAGE="sv"))
        assert not IDENTIFIER.findall(text), (path, IDENTIFIER.findall(text))
        assert not RAW_FIGURE.findall(text), (path, RAW_FIGURE.findall(text))
        assert not ENGLISH.findall(text), (path, ENGLISH.findall(text))
    application = visible(client.get(f"/fund/applications/{w.application.pk}/"))
    assert f"34{NBSP}000{NBSP}000,00{NBSP}kr" in application
    assert "Kommun" in application and "Region" in application  # member kinds as labels
    dashboard = visible(client.get(f"/fund/{w.fund.pk}/"))
    assert f"365{NBSP}000{NBSP}000" in dashboard  # the budget, grouped the Swedish way
    assert "Fas 4: genomförandestöd och utfallsersättning" in dashboard
    assert "valda" in dashboard and f"17{NBSP}000{NBSP}000,00{NBSP}kr" in dashboard
    constellation = visible(client.get(f"/fund/constellations/{w.constellation.pk}/"))
    assert "Minskad skolfrånvaro" in constellation and "De verifierade utfallen" in constellation
    assert f"4{NBSP}000{NBSP}000,00{NBSP}kr" in constellation


def test_english_pages_write_figures_the_english_way(client, selected):
    w = selected
    _paid(w)
    client.force_login(w.admin)
    client.cookies["django_language"] = "en"
    application = visible(client.get(f"/fund/applications/{w.application.pk}/"))
    assert f"SEK{NBSP}34,000,000.00" in application, application
    assert "Municipality" in application
    constellation = visible(client.get(f"/fund/constellations/{w.constellation.pk}/"))
    assert "Reduced school absence" in constellation and "Minskad" not in constellation
    dashboard = visible(client.get(f"/fund/{w.fund.pk}/"))
    assert "Phase 4: implementation support and outcome payments" in dashboard
    assert not RAW_FIGURE.findall(dashboard)


def test_typed_numbers_in_swedish_form(client, selected):
    """Reported costs with a decimal comma, counts with a thousands space, a baseline share
    in per cent; a word where a number belongs names the field."""
    w = selected
    client.force_login(w.applicant)
    url = f"/fund/constellations/{w.constellation.pk}/"
    form = {
        "report": "1",
        "period_start": "2025-01-01",
        "period_end": "2025-06-30",
        "reported_costs_to_date": "0",
        "is_baseline": "on",
        "n_school_absence": "1 200",
        "count_school_absence": "60",
        "n_work_or_studies": "1 000",
        "count_work_or_studies": "tio",
    }
    page = client.post(url, form)
    assert page.status_code == 200
    assert "individer som uppfyller indikatorn: ”tio” är inte ett tal" in visible(page)
    form["count_work_or_studies"] = "100"
    assert client.post(url, form).status_code == 302
    baseline = w.constellation.reports.get()
    assert {line.indicator.code: line.n for line in baseline.lines.all()} == {
        "school_absence": 1200,
        "work_or_studies": 1000,
    }
    form.update(
        period_start="2025-07-01",
        period_end="2025-12-31",
        reported_costs_to_date="2 000 000,50",
        is_baseline="",
    )
    assert client.post(url, form).status_code == 302
    assert w.constellation.reports.get(period_start=date(2025, 7, 1)).reported_costs_to_date == (
        Decimal("2000000.50")
    )


def test_application_members_as_rows_with_kinds_and_baseline_in_per_cent(client, fund_world):
    w = fund_world
    client.force_login(w.applicant)
    page = client.get(f"/fund/calls/{w.call.pk}/apply/").content.decode()
    assert 'name="members-0-kind"' in page and ">Civilsamhällesorganisation</option>" in page
    assert "civil_society;" not in page and "name; kind" not in page
    data = {
        **formset(
            "members",
            [{"name": "Norrby kommun", "kind": "municipality"}, {"name": "", "kind": ""}],
        ),
        "organisation": w.municipality.pk,
        "constellation_name": "Ensam",
        "needs_analysis": "a",
        "target_group": "b",
        "theory_of_change": "c",
        "evaluation_design": "d",
        "budget_total": "20 000 000",
        "co_financing": "10 000 000",
        "requested_outcome_payment": "10 000 000",
        "indicator_0": w.indicators["school_absence"].pk,
        "desired_change_0": "e",
        "causal_effect_0": "f",
        "baseline_share_0": "12,5",
    }
    page = client.post(f"/fund/calls/{w.call.pk}/apply/", data)
    assert "ange minst två samverkande parter" in visible(page)
    data.update({"members-1-name": "Region Mitt", "members-1-kind": "region"})
    assert client.post(f"/fund/calls/{w.call.pk}/apply/", data).status_code == 302
    application = Application.objects.get(constellation_name="Ensam")
    assert application.members == [
        {"name": "Norrby kommun", "kind": "municipality"},
        {"name": "Region Mitt", "kind": "region"},
    ]
    assert application.outcomes.get().baseline_share == Decimal("0.1250")


def test_scores_start_empty_and_are_required(client, fund_world):
    w = fund_world
    application = w.submit()
    services.application_screen(
        application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
    )
    client.force_login(w.admin)
    url = f"/fund/applications/{application.pk}/"
    client.post(url, {"declare": "1", "has_conflict": "no", "description": ""})
    page = client.get(url).content.decode()
    select = page[
        page.index('name="score_problem"') : page.index(
            "</select>", page.index('name="score_problem"')
        )
    ]
    assert 'value="" selected' in select and 'value="0" selected' not in select
    response = client.post(url, {"review": "1", "score_problem": "4", "score_capacity": "5"})
    assert "Välj en poäng från 0 till 5." in visible(response)
    assert not Review.objects.exists()


def test_errors_are_next_to_the_field_and_above_the_button(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    # A finding of the service goes under the field it names.
    page = client.post(
        f"/fund/{w.fund.pk}/", call_form(opens_on="2026-03-01", deadline="2026-01-01")
    ).content.decode()
    message = "Sista ansökningsdag är före utlysningens öppning."
    assert message in page
    assert page.index('id="id_deadline"') < page.index(message) < page.index("id_outcome_payment")
    # A problem of the whole step goes directly above the button pressed.
    for name in ("A", "B", "C"):
        application = w.submit(f"Konstellation {name}")
        services.application_screen(
            application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
        )
    services.call_close(call=w.call, actor=w.admin)
    ids = [str(a.pk) for a in w.call.applications.all()]
    page = client.post(
        f"/fund/calls/{w.call.pk}/", {"select": "1", "applications": ids, "reasons": "r"}
    ).content.decode()
    message = f"mer än utlysningens ram på 40{NBSP}000{NBSP}000,00{NBSP}kr"
    assert message in page
    form = page.index('data-testid="selection-form"')
    assert form < page.index(message) < page.index('name="select"')
    assert page.index('role="alert"', form) < page.index('name="select"')


def test_irreversible_steps_ask_first(client, selected):
    w = selected
    client.force_login(w.admin)
    # The call of the fixture is decided; a new open one to close early.
    other = services.call_create(
        fund=w.fund,
        actor=w.admin,
        title="Call 3",
        description="",
        opens_on=w.today,
        deadline=w.today + timedelta(days=20),
        outcome_payment_frame=MSEK,
        implementation_start_year=2026,
        implementation_end_year=2027,
        criteria=[{"code": "a", "name": "A"}],
    )
    page = client.get(f"/fund/calls/{other.pk}/").content.decode()
    assert re.search(
        r'data-testid="close-form"[^>]*data-confirm="Utlysningen stängs nu, före sista', page
    )
    page = client.get(f"/fund/constellations/{w.constellation.pk}/").content.decode()
    assert re.search(r'data-testid="terminate-form"[^>]*data-confirm="[^"]*kan inte ångras', page)


def test_pay_and_selection_forms_ask_first(client, selected):
    w = selected
    client.force_login(w.admin)
    services.report_submit(
        constellation=w.constellation,
        actor=w.applicant,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        reported_costs_to_date=Decimal(0),
        lines=[
            {"indicator": w.indicators["school_absence"], "n": 200, "count": 40},
            {"indicator": w.indicators["work_or_studies"], "n": 150, "count": 90},
        ],
        is_baseline=True,
    )
    second = services.report_submit(
        constellation=w.constellation,
        actor=w.applicant,
        period_start=date(2025, 7, 1),
        period_end=date(2025, 12, 31),
        reported_costs_to_date=4 * MSEK,
        lines=[
            {"indicator": w.indicators["school_absence"], "n": 200, "count": 20},
            {"indicator": w.indicators["work_or_studies"], "n": 150, "count": 110},
        ],
    )
    evaluate_and_sign(w, second)
    page = client.get(f"/fund/constellations/{w.constellation.pk}/").content.decode()
    assert re.search(r'data-testid="pay-form"[^>]*data-confirm="Utfallsersättningen betalas', page)


def test_screening_and_selection_forms_ask_first(client, fund_world):
    w = fund_world
    application = w.submit()
    client.force_login(w.admin)
    page = client.get(f"/fund/applications/{application.pk}/").content.decode()
    assert re.search(r'data-testid="screening-form"[^>]*data-confirm="Beslutet', page)
    services.application_screen(
        application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
    )
    services.call_close(call=w.call, actor=w.admin)
    page = client.get(f"/fund/calls/{w.call.pk}/").content.decode()
    assert re.search(r'data-testid="selection-form"[^>]*data-confirm="Urvalet beslutas nu', page)


def test_dashboard_has_sections_and_a_budget_chart(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/").content.decode()
    main = page[page.index("<main") :]
    assert main.count("<h2") >= 5
    chart = main[main.index('data-testid="budget-chart"') : main.index("</svg>")]
    assert chart.count("<rect") == 3 * 6  # budget, forecast and paid for six years
    assert "2028 · Budget: 135\u00a0000\u00a0000\u00a0kr" in chart
    assert "<h2" not in chart and "Budget per år" not in chart


@pytest.mark.parametrize("weight", ["1,5", "1.5"])
def test_call_weight_in_either_form(client, fund_world, weight):
    w = fund_world
    client.force_login(w.admin)
    client.post(f"/fund/{w.fund.pk}/", call_form(**{"criteria-1-weight": weight}))
    call = w.fund.calls.get(title="Call 2")
    assert call.criteria.get(code="tvarsektoriell_samverkan").weight == Decimal("1.50")


@pytest.mark.slow
def test_demo_pages_in_swedish_and_english(db, client, make_user):
    """The fund demo's pages read in the language of the reader: no identifier, no plain
    figure, no English on the Swedish pages, and no Swedish half of a pair on the English."""
    import os

    from django.contrib.auth import get_user_model
    from fund_workflow import totp_code

    from utfall.platform.contracts.services import contract_create
    from utfall.platform.fund.demo import load_fund_demo
    from utfall.platform.fund.models import Call, Constellation, Fund
    from utfall.platform.organisations.services import organisation_create

    examples = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "contracts")
    organisation = organisation_create(name="Demokommunen", actor=None)
    commissioner = make_user("commissioner", organisation)
    for name in sorted(os.listdir(examples)):
        with open(os.path.join(examples, name), encoding="utf-8") as handle:
            contract_create(
                text=handle.read(), organisation=organisation, actor=commissioner, file_name=name
            )
    load_fund_demo(log=lambda *_: None, totp_code=totp_code)
    fund = Fund.objects.get()
    call = Call.objects.get(fund=fund)
    constellation = Constellation.objects.filter(reports__payment__isnull=False).first()
    client.force_login(get_user_model().objects.get(username="fund_admin"))
    pages = [
        f"/fund/{fund.pk}/",
        f"/fund/calls/{call.pk}/",
        f"/fund/applications/{constellation.application.pk}/",
        f"/fund/constellations/{constellation.pk}/",
        "/fund/indicators/",
    ]
    for path in pages:
        text = visible(client.get(path))
        assert not IDENTIFIER.findall(text), (path, IDENTIFIER.findall(text))
        assert not RAW_FIGURE.findall(text), (path, RAW_FIGURE.findall(text))
        assert not ENGLISH.findall(text), (path, ENGLISH.findall(text))
        assert "Call 2023" not in text, path  # the English half of a "svenska / English" pair
    dashboard = visible(client.get(pages[0]))
    assert "Utlysning 2023: Förebygga ungdomskriminalitet" in dashboard
    assert "Call 2023" not in dashboard and "Uppdrag och förankring" in dashboard
    client.cookies["django_language"] = "en"
    for path in pages:
        text = visible(client.get(path))
        assert not IDENTIFIER.findall(text), (path, IDENTIFIER.findall(text))
        assert not RAW_FIGURE.findall(text), (path, RAW_FIGURE.findall(text))
    dashboard = visible(client.get(pages[0]))
    assert "Call 2023: preventing youth crime" in dashboard and "Förebygga" not in dashboard
    assert "Mandate and anchoring" in dashboard
