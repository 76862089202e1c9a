"""The fund's portfolio and its fund-level evaluation report (issue 18, "Learning across the
portfolio").

Seed 003 (003_7d5cf87c6e04e6cb.txt, phase 3): "For att skapa goda forutsattningar for
jamforbarhet och kvalitet pa utvarderingsunderlagen behover det finnas viss enhetlighet i
hur insatser och malgruppers forflyttning foljs upp i de olika konstellationerna" — the
common follow-up protocol whose indicators the portfolio lays side by side; phase 5 names
the "Underlag till Extern utvarderare" and the "rekommendation till regeringen om det
fortsatta arbetet" the report is for. Small cells: DESIGN.md 5 and decision 0503.
"""

from __future__ import annotations

import io
import os
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fund_workflow import evaluate_and_sign, totp_code

pytestmark = pytest.mark.django_db

MSEK = Decimal(1_000_000)
NBSP = "\u00a0"
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "contracts")


def _text(html: str) -> str:
    """The page's text, tags dropped and white space folded."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(NBSP, " ")


def _table(page: str, testid: str) -> str:
    match = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert match, f"no table {testid}"
    return _text(match.group(0))


def _rows(page: str, testid: str) -> dict[str, str]:
    """The table's body rows by their first cell's text."""
    match = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert match, f"no table {testid}"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(0), re.S):
        cells = [_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        if cells:
            rows[cells[0]] = " | ".join(cells[1:]).rstrip(" |")
    return rows


def _declare(application, reviewer):
    """The reviewer declares no conflict of interest before scoring."""
    from utfall.platform.fund.deep_analysis import conflict_declare

    conflict_declare(application=application, actor=reviewer, has_conflict=False, description="")


@pytest.fixture
def portfolio_world(fund_world):
    """Two selected constellations of the fund: Norrby (large cells, its report evaluated,
    signed and paid) and Söderås (its work-or-studies report counts 3 of 150: a small cell;
    then terminated with its reason)."""
    from utfall.platform.fund import services

    w = fund_world
    norrby = w.submit()
    soderas = w.submit(
        "Konstellation Söderås", organisation=w.other_municipality, actor=w.other_applicant
    )
    for application in (norrby, soderas):
        services.application_screen(
            application=application, actor=w.admin, qualified=True, strengths="S", weaknesses="W"
        )
        for person in (w.admin, w.reviewer):
            _declare(application, person)
            services.review_submit(
                application=application,
                actor=person,
                scores={"problem": 4, "capacity": 3, "cross_sector": 5},
            )
    services.call_close(call=w.call, actor=w.admin)
    services.selection_decide(
        call=w.call,
        actor=w.admin,
        application_ids=[norrby.pk, soderas.pk],
        reasons="Both fit the frame.",
    )
    norrby.refresh_from_db()
    soderas.refresh_from_db()
    w.norrby, w.soderas = norrby.constellation, soderas.constellation

    def report(constellation, actor, start, school, work, *, baseline=False):
        return services.report_submit(
            constellation=constellation,
            actor=actor,
            period_start=start,
            period_end=start + timedelta(days=180),
            reported_costs_to_date=Decimal(0) if baseline else 4 * MSEK,
            lines=[
                {"indicator": w.indicators["school_absence"], "n": 200, "count": school},
                {"indicator": w.indicators["work_or_studies"], "n": 150, "count": work},
            ],
            is_baseline=baseline,
        )

    report(w.norrby, w.applicant, date(2025, 1, 1), 40, 90, baseline=True)
    w.norrby_report = report(w.norrby, w.applicant, date(2025, 7, 1), 20, 110)
    report(w.soderas, w.other_applicant, date(2025, 1, 1), 50, 60, baseline=True)
    report(w.soderas, w.other_applicant, date(2025, 7, 1), 30, 3)
    evaluate_and_sign(w, w.norrby_report)
    w.payment = services.report_pay(report=w.norrby_report, actor=w.admin, year=2026)
    reason = "Målgruppen nåddes inte enligt de överenskomna kriterierna."
    # Phase 4: the fidelity follow-up and the fairness rule (seed 003 appendix 2).
    from utfall.platform.fund import follow_up

    follow_up.fidelity_review_record(
        constellation=w.norrby,
        actor=w.admin,
        reviewed_on=date(2025, 10, 1),
        rating="partly",
        findings="Hembesöken kom i gång sent.",
        actions="Extra stöd från SKR och RISE.",
    )
    follow_up.constellation_terminate_fairly(
        constellation=w.soderas,
        actor=w.admin,
        today=w.today,
        reason=reason,
        effort="did_all",
        support_used=Decimal(0),
    )
    return w


def test_the_portfolio_lays_the_indicators_side_by_side_with_the_statements_effect(
    client, portfolio_world
):
    w = portfolio_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/portfolio/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Portfölj" in page and "Minskad skolfrånvaro" in page
    rows = _rows(page, "portfolio-school_absence")
    norrby = next(v for k, v in rows.items() if "Konstellation Norrby" in k)
    soderas = next(v for k, v in rows.items() if "Konstellation Söderås" in k)
    # Baseline 40 of 200, then 20 of 200; the effect is the statement's (decision 0504):
    # 10 percentage points fewer with problematic absence, with its 95 % interval.
    line = w.norrby_report.lines.get(indicator__code="school_absence")
    low = f"{Decimal(str(line.evaluation['ci_low'])) * 100:.1f}".replace(".", ",")
    assert norrby.startswith("20,0 % av 200 | 10,0 % av 200 | 10,0 | "), norrby
    assert low in norrby
    # Söderås's report is not evaluated: no effect yet; it is marked terminated.
    assert "inte utvärderad ännu" in soderas
    assert any("avslutad" in k for k in rows if "Söderås" in k)
    # The fund's total over both constellations, per period: 50 of 400 = 12.5 %.
    total = rows["Alla konstellationer"]
    assert total == "22,5 % av 400 | 12,5 % av 400", total
    # The chart specs are embedded for vega-embed with the Swedish format locale.
    assert 'id="vega-locale"' in page and 'data-chart="chart-effect-' in page
    assert "Andel (%)" in page and "Effekt (procentenheter)" in page


def test_a_small_cell_is_withheld_with_its_complement_and_the_effect_on_it(client, portfolio_world):
    w = portfolio_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/portfolio/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    rows = _rows(page, "portfolio-work_or_studies")
    norrby = next(v for k, v in rows.items() if "Norrby" in k)
    soderas = next(v for k, v in rows.items() if "Söderås" in k)
    # Söderås: 3 of 150 met the indicator (fewer than 5): withheld. With the total shown,
    # Norrby's 110 of 150 would reveal it, so it goes too (decision 0503), and so does
    # the effect resting on it; the baselines stay.
    assert soderas == "40,0 % av 150 | visas inte | inte utvärderad ännu", soderas
    assert norrby == "60,0 % av 150 | visas inte | visas inte", norrby
    assert rows["Alla konstellationer"] == "50,0 % av 300 | 37,7 % av 300"
    assert "113" not in _table(page, "portfolio-work_or_studies")
    # Nothing of the withheld cells is in the page's charts either.
    assert "73.3" not in page and '"2.0' not in page


def test_the_portfolio_shows_outcome_payments_against_intended(client, portfolio_world):
    w = portfolio_world
    client.force_login(w.admin)
    client.cookies["django_language"] = "en"
    page = client.get(f"/fund/{w.fund.pk}/portfolio/").content.decode()
    rows = _rows(page, "portfolio-payments")
    norrby = next(v for k, v in rows.items() if "Norrby" in k)
    paid = f"{w.payment.amount:,.2f}"
    assert norrby.startswith("Active | 17,000,000 | 17,000,000 | "), norrby
    assert paid in norrby and f"{w.payment.outcome_value:,.2f}" in norrby
    assert "Söderås" in " ".join(rows) and "Terminated" in " ".join(rows.values())
    assert "Effect (percentage points)" in page and "withheld" in page
    assert "Outcome payments achieved against intended" in page


def test_the_report_has_money_by_year_and_actor_terminations_and_no_lessons(
    client, portfolio_world
):
    w = portfolio_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/report/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    text = _text(page)
    assert "Utvärderingsrapport för fonden" in text
    years = _rows(page, "report-years")
    assert years["Totalt"].startswith("365 000 000 |"), years
    actors = _table(page, "report-actors")
    assert "SKR och RISE" in actors and "Konstellationer" in actors
    assert "Totalt 210 000 000" in actors
    paid = f"{w.payment.amount:,.2f}".replace(",", " ").replace(".", ",")
    assert paid in _text(re.search(r'data-testid="report-outcome-paid".*?</dd>', page, re.S)[0])
    terminations = _text(
        re.search(r'data-testid="report-terminations".*?</section>', page, re.S)[0]
    )
    assert "Konstellation Söderås" in terminations
    assert "Målgruppen nåddes inte enligt de överenskomna kriterierna." in terminations
    fidelity = _text(re.search(r'data-testid="report-lessons".*?</section>', page, re.S)[0])
    if "report-fidelity" in page:  # the fidelity follow-up and the fairness rule recorded
        assert "Hembesöken kom i gång sent." in fidelity
        assert "Extra stöd från SKR och RISE." in fidelity
        assert " 0,00 " in terminations  # nothing to return: it did everything it could
    assert "Inga lärdomar har registrerats" in page
    # A lesson recorded on the knowledge platform for a constellation's contract.
    from utfall.platform.knowledge.services import lesson_add

    lesson_add(
        contract=w.norrby.contract,
        actor=None,
        title="Tidiga hembesök / Early home visits",
        body="Hembesök det första halvåret gav bäst närvaro. / Home visits in the first half "
        "year gave the best attendance.",
    )
    again = client.get(f"/fund/{w.fund.pk}/report/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    lessons = _text(re.search(r'data-testid="report-lessons".*?</section>', again, re.S)[0])
    assert "Tidiga hembesök" in lessons and "gav bäst närvaro" in lessons
    assert "Early home visits" not in lessons and "Inga lärdomar" not in lessons
    assert f'href="/fund/{w.fund.pk}/report.pdf?lang=en"' in page
    # No identifiers or reprs on the page.
    assert "outcome_payment" not in text and "Decimal(" not in page and "None" not in text


def test_the_report_pdf_has_the_figures_in_the_language_asked(client, portfolio_world):
    pypdf = pytest.importorskip("pypdf")
    w = portfolio_world
    client.force_login(w.admin)
    response = client.get(f"/fund/{w.fund.pk}/report.pdf?lang=sv")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    pdf_text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    pdf_text = pdf_text.replace(NBSP, " ")
    assert "Utvärderingsrapport för fonden" in pdf_text
    assert "365 000 000" in pdf_text and "210 000 000" in pdf_text
    assert f"{w.payment.amount:,.2f}".replace(",", " ").replace(".", ",") in pdf_text
    assert "Målgruppen nåddes inte" in pdf_text and "visas inte" in pdf_text
    assert client.get(f"/fund/{w.fund.pk}/report.pdf?lang=xx").status_code == 404
    # The English PDF is drawn from the same document in English (charts included).
    from utfall.platform.fund.report import report_html

    english = _text(report_html(w.fund, language="en", today=w.today))
    assert "Fund evaluation report" in english and "365,000,000" in english
    assert "withheld" in english and "Utvärderingsrapport" not in english


def test_only_the_funds_administrators_see_the_portfolio_and_the_report(client, portfolio_world):
    w = portfolio_world
    # The constellations' own members, an outsider and the fund's evaluator: 403.
    for who in ("applicant", "other_applicant", "outsider", "evaluator"):
        client.force_login(getattr(w, who))
        for path in ("portfolio/", "report/", "report.pdf?lang=sv"):
            assert client.get(f"/fund/{w.fund.pk}/{path}").status_code == 403, (who, path)
    client.logout()
    response = client.get(f"/fund/{w.fund.pk}/portfolio/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(w.reviewer)  # the fund's other administrator
    assert client.get(f"/fund/{w.fund.pk}/portfolio/").status_code == 200


def test_the_dashboard_links_to_both(client, fund_world):
    w = fund_world
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert f'href="/fund/{w.fund.pk}/portfolio/"' in page
    assert f'href="/fund/{w.fund.pk}/report/"' in page
    assert "Utvärderingsrapport för fonden" in page
    assert f'href="/fund/{w.fund.pk}/calendar/"' in page
    call = client.get(f"/fund/calls/{w.call.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert f'href="/fund/calls/{w.call.pk}/phase-3/"' in call


def test_the_portfolio_and_the_report_show_the_demos_constellations(db, client, make_user):
    """The demo's fund (``make demo``): every selected constellation in the portfolio with its
    paid report's effect, and in the report."""
    from utfall.platform.contracts.services import contract_create
    from utfall.platform.fund.demo import load_fund_demo
    from utfall.platform.fund.models import Constellation, Fund, OutcomePayment
    from utfall.platform.organisations.services import organisation_create

    organisation = organisation_create(name="Demokommunen", actor=None)
    commissioner = make_user("commissioner", organisation)
    with open(os.path.join(EXAMPLES, "national-fund-constellation.yaml"), encoding="utf-8") as f:
        contract_create(
            text=f.read(),
            organisation=organisation,
            actor=commissioner,
            file_name="national-fund-constellation.yaml",
        )
    load_fund_demo(log=lambda *_: None, totp_code=totp_code)
    fund = Fund.objects.get()
    constellations = list(Constellation.objects.filter(application__call__fund=fund))
    assert len(constellations) >= 2
    client.force_login(fund.administrator.memberships.first().user)
    page = client.get(f"/fund/{fund.pk}/portfolio/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    payments = _rows(page, "portfolio-payments")
    for constellation in constellations:
        name = f"{constellation.code} {constellation.application.constellation_name}"
        assert name in payments
        paid = OutcomePayment.objects.get(report__constellation=constellation).amount
        assert f"{paid:,.2f}".replace(",", " ").replace(".", ",") in payments[name]
    # Every indicator a constellation follows has its table; the paid reports' effects show.
    assert page.count('data-testid="effect"') >= len(constellations)
    assert 'data-testid="withheld"' not in page  # the demo's groups are all large
    report = client.get(f"/fund/{fund.pk}/report/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fund evaluation report" in report
    assert all(c.application.constellation_name in report for c in constellations)
    assert "No constellation's outcome financing has been terminated." in report
    # What the demo crawl checks on every page (tests/platform/text): no English on the
    # Swedish pages, no identifiers or reprs, numbers in the reader's form.
    from text.textcrawl import english_strings, findings, parse

    english = english_strings()
    for path in ("portfolio/", "report/"):
        for language in ("sv", "en"):
            html = client.get(f"/fund/{fund.pk}/{path}", HTTP_ACCEPT_LANGUAGE=language)
            lines, _links = parse(html.content.decode())
            problems = list(findings(lines, language, english, ["fund_admin"]))
            assert problems == [], (path, language, problems)
