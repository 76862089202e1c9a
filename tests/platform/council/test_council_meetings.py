"""Council dashboards from stored rows, meetings with a frozen snapshot, decisions with owner
and due date, follow-up at the next meeting, and the quarterly report in HTML and PDF,
Swedish and English."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from council_helpers import import_files
from django.core.exceptions import PermissionDenied

from utfall.core.ledger.canonical import canonical_sha256
from utfall.errors import UserError


def _record(world, held_on, as_of, title="Insatsråd"):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services

    return services.meeting_record(
        contract=world.contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=held_on,
        as_of=as_of,
        title=title,
        agenda="1. Status per barn\n2. Kostnader",
    )


def _panel(dashboard, method):
    return next(p for p in dashboard["panels"] if p["method"] == method)


@pytest.mark.django_db
def test_dashboard_figures_come_from_the_stored_rows(council_world):
    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.tables import StoredTables
    from utfall.services.contracts import contract_settle

    world = council_world
    dashboard = dashboard_compute(contract=world.contract, as_of=world.as_of)
    costs = _panel(dashboard, "historical_reference")
    assert costs["kind"] == "cost_trajectory" and costs["paid"]
    assert costs["estimate"]["n_treated"] == 12 and costs["estimate"]["n_control"] == 30
    assert [row["month"] for row in costs["monthly"]] == list(range(18))
    # Costs 10 % above the reference in months 0-5, 30 % below afterwards: a net saving.
    assert Decimal(costs["estimate"]["shown"]) > 0
    assert costs["figures"]["saving_positive_from_month"] is not None
    settlement = dashboard["settlement"]
    assert settlement["error"] is None
    assert settlement["inputs"]["invested_sek"] == "3000000.00"
    (bound,) = costs["bound"]
    assert settlement["inputs"][bound["input"]] == costs["estimate"]["shown"]
    assert settlement["sources"][bound["input"]].startswith(f"evaluation {costs['evaluation']}")
    # The contract's own threshold (an input bound with at_least) decides, as it does in
    # the settlement.
    did = _panel(dashboard, "did")
    (threshold,) = [row for row in did["bound"] if "at_least" in row]
    assert threshold["met"] is True and settlement["inputs"][threshold["input"]] is True
    individuals = dashboard["individuals"]
    assert len(individuals["rows"]) == 12
    assert all(len(row["pseudonym"]) == 12 for row in individuals["rows"])
    # "What it would pay today" is a settlement started on the same rows and day.
    run = contract_settle(world.document, tables=StoredTables(world.contract), until=world.as_of)
    assert settlement["total"] == str(sum(p.amount for p in run.settlement.payments))
    assert costs["estimate"]["value"] == run.evaluations[costs["evaluation"]].estimate
    assert costs["estimate"]["ci_low"] == run.evaluations[costs["evaluation"]].ci_low


@pytest.mark.django_db
def test_a_repeated_request_recomputes_nothing_until_the_rows_change(council_world, monkeypatch):
    from utfall.platform.council import selectors

    world = council_world
    calls = []
    real = selectors.dashboard_build

    def counted(*args, **kwargs):
        calls.append(kwargs["as_of"])
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "dashboard_build", counted)
    first = selectors.dashboard_compute(contract=world.contract, as_of=world.as_of)
    again = selectors.dashboard_compute(contract=world.contract, as_of=world.as_of)
    assert again is first and len(calls) == 1
    selectors._MEMO.clear()  # another process: the shared cache serves it
    assert selectors.dashboard_compute(contract=world.contract, as_of=world.as_of) == first
    assert len(calls) == 1
    # New rows: a new data state, computed anew.
    import_files(world.contract, world.users, {"cost_reports": _more_cost_reports()})
    later = selectors.dashboard_compute(contract=world.contract, as_of=world.as_of)
    assert len(calls) == 2 and later["key"] != first["key"]
    assert later["settlement"]["inputs"]["invested_sek"] == "3500000.00"


def _more_cost_reports() -> bytes:
    return b"period_end,category,amount\n2018-12-01,salaries,500000.00\n"


@pytest.mark.django_db
def test_snapshot_is_frozen_and_decisions_are_followed_up(council_world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import selectors, services
    from utfall.platform.council.models import CouncilMeeting, DecisionStatus

    world = council_world
    first = _record(world, dt.date(2019, 2, 12), world.as_of)
    assert first.snapshot_sha256 == canonical_sha256(first.snapshot)
    total = first.snapshot["settlement"]["total"]
    decision = services.decision_add(
        meeting=first,
        actor=world.users[Role.INTERMEDIARY],
        text="Tidigarelägg läxhjälpen",
        owner="Utföraren",
        due_on=dt.date(2019, 3, 31),
        kind="recommendation",
    )
    # New data after the meeting does not change what the meeting looked at.
    import_files(world.contract, world.users, {"cost_reports": _more_cost_reports()})
    live = selectors.dashboard_compute(contract=world.contract, as_of=world.as_of)
    assert live["settlement"]["total"] != total
    first = CouncilMeeting.objects.get(pk=first.pk)
    assert first.snapshot["settlement"]["total"] == total
    assert canonical_sha256(first.snapshot) == first.snapshot_sha256  # as stored and read back
    second = _record(world, dt.date(2019, 5, 2), dt.date(2019, 4, 30))
    assert list(selectors.open_decisions(meeting=second)) == [decision]
    services.decision_follow_up(
        decision=decision,
        at_meeting=second,
        actor=world.users[Role.COMMISSIONER],
        status=DecisionStatus.DONE,
        note="Genomfört",
    )
    decision.refresh_from_db()
    assert decision.status == "done" and decision.followed_up_at == second
    assert list(selectors.open_decisions(meeting=second)) == [decision]
    with pytest.raises(UserError):
        services.decision_follow_up(
            decision=decision, at_meeting=first, actor=world.users[Role.COMMISSIONER], status="done"
        )
    with pytest.raises(UserError):
        _record(world, dt.date(2019, 5, 2), dt.date(2019, 6, 1))
    with pytest.raises(PermissionDenied):
        services.decision_add(
            meeting=first,
            actor=world.users[Role.FINANCIER],
            text="x",
            owner="y",
            due_on=dt.date(2019, 6, 1),
        )
    actions = set(world.contract.audit_events.values_list("action", flat=True))
    assert {
        "council_meeting_recorded",
        "council_decision_added",
        "council_decision_followed_up",
    } <= actions


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "sv",
            [
                "Insatsråd kvartal 4",
                "Nyckeltal",
                "Avtalet skulle betala om det upphörde i dag",
                "Beslut och rekommendationer",
                "Tidigarelägg läxhjälpen",
                "Kostnader mot historiskt förväntade",
            ],
        ),
        (
            "en",
            [
                "Insatsråd kvartal 4",
                "Key figures",
                "The contract would pay if it ended today",
                "Decisions and recommendations",
                "Tidigarelägg läxhjälpen",
                "Costs against the historically expected",
            ],
        ),
    ],
)
def test_quarterly_report_pdf_text(council_world, client, language, expected):
    pypdf = pytest.importorskip("pypdf")
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services
    from utfall.platform.tables import StoredTables

    world = council_world
    meeting = _record(world, dt.date(2019, 2, 10), world.as_of, title="Insatsråd kvartal 4")
    services.decision_add(
        meeting=meeting,
        actor=world.users[Role.COMMISSIONER],
        text="Tidigarelägg läxhjälpen",
        owner="Utföraren",
        due_on=dt.date(2019, 3, 31),
    )
    client.force_login(world.users[Role.PROVIDER])
    url = f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report"
    html = client.get(f"{url}.html?lang={language}").content.decode()
    assert "<svg" not in html and "data:image/svg+xml;base64," in html  # charts as SVG images
    response = client.get(f"{url}.pdf?lang={language}")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for phrase in expected:
        assert phrase in text, phrase
    # The provider may see the individual status list; pseudonyms only.
    pseudonym = StoredTables(world.contract).table("participants").column("participant")[0]
    pseudonym = pseudonym.as_py()
    assert pseudonym[:12] in text and pseudonym not in text


@pytest.mark.django_db
def test_every_shipped_contract_has_a_dashboard_before_any_import(db, make_user):
    """A contract just uploaded: its panels wait for data, inputs no evaluation gives are
    listed as missing; nothing is read from examples/."""
    from council_helpers import CONTRACTS

    from utfall.platform.contracts.services import contract_create
    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.organisations.services import organisation_create

    organisation = organisation_create(name="Kommunen", actor=None)
    user = make_user("kommun", organisation)
    for path in CONTRACTS:
        contract = contract_create(
            text=path.read_text(encoding="utf-8"),
            organisation=organisation,
            actor=user,
            file_name=path.name,
        )
        dashboard = dashboard_compute(contract=contract, as_of=dt.date(2026, 1, 1))
        settlement = dashboard["settlement"]
        assert settlement["error"] in ("missing_inputs", "settle_failed"), path.name
        for panel in dashboard["panels"]:
            assert panel["status"] in ("waiting", "error"), (path.name, panel["id"])


@pytest.mark.django_db
def test_the_break_even_month_is_the_finance_views(council_world):
    """With a finance plan the dashboard shows the commissioner's break-even month as the
    finance service computes it for the same settlement (decision 0258)."""
    from council_helpers import EXAMPLES

    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.settlements.models import FinancePlan
    from utfall.platform.tables import StoredTables
    from utfall.services.contracts import contract_settle
    from utfall.services.finance import finance_break_even, finance_plan_parse

    world = council_world
    text = (EXAMPLES / "finance" / "norrkoping-plan.yaml").read_text(encoding="utf-8")
    from utfall.platform.contracts.models import Role

    FinancePlan.objects.create(
        contract=world.contract,
        text=text,
        sha256=canonical_sha256({"text": text}),
        uploaded_by=world.users[Role.COMMISSIONER],
    )
    dashboard = dashboard_compute(contract=world.contract, as_of=world.as_of)
    shown = dashboard["break_even"]
    assert shown is not None and shown["status"] in ("ok", "not_reached"), shown
    plan = finance_plan_parse(text, source="plan", contract=world.document)
    run = contract_settle(world.document, tables=StoredTables(world.contract), until=world.as_of)
    expected = finance_break_even(run, plan, tables=StoredTables(world.contract))
    if expected is None:
        assert shown["status"] == "not_reached"
    else:
        assert shown["month"] == expected.month


@pytest.mark.django_db
def test_the_demo_records_meetings_for_a_contract_with_data(council_world):
    from utfall.platform.council.demo import record_demo_meeting

    lines = []
    record_demo_meeting(log=lines.append)
    meetings = list(council_world.contract.council_meetings.order_by("held_on"))
    assert len(meetings) == 2, lines
    first, second = meetings
    assert first.as_of < second.as_of and first.decisions.count() == 2
    assert all(d.followed_up_at == second for d in first.decisions.all())
    # The agenda lists the contract's own evaluations, by their declared labels.
    assert "Kostnader mot historiskt förväntade" in first.agenda
    record_demo_meeting(log=lines.append)  # once only
    assert council_world.contract.council_meetings.count() == 2
