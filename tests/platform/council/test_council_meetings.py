"""Council meetings: a frozen snapshot, decisions with owner and due date, follow-up at the
next meeting, and the quarterly report in HTML and PDF, Swedish and English."""

from __future__ import annotations

import datetime as dt
import io

import pytest
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


@pytest.mark.django_db
def test_dashboard_figures_come_from_the_data(council_world):
    from utfall.platform.council.selectors import dashboard_compute

    dashboard = dashboard_compute(contract=council_world.contract, as_of=council_world.as_of)
    costs = dashboard["costs"]
    assert costs["n_included"] == 12 and costs["n_reference"] == 30
    assert [row["month"] for row in costs["monthly"]] == list(range(18))
    # Costs 10 % above the reference in months 0-5, 30 % below afterwards: a net saving.
    assert float(costs["net_saving"]) > 0
    assert costs["break_even_month"] is not None
    settlement = dashboard["settlement"]
    assert settlement["error"] is None
    assert settlement["inputs"]["invested_sek"] == "3000000.00"
    assert settlement["inputs"]["net_savings_sek"] == costs["net_saving"]
    assert settlement["sources"]["net_savings_sek"] == "historical_reference"
    assert dashboard["school"]["met"] is True
    # "Met" as the contract defines it (its school_results_met binding: the DiD against the
    # reference group, lower bound at least 0), the same rule the settlement applies.
    assert dashboard["school"]["rule"] == "did"
    assert dashboard["school"]["thresholds"][0]["measure"] == "did_ci_low"
    assert settlement["sources"]["school_results_met"] == "did"
    assert len(dashboard["individuals"]) == 12
    assert all(len(row["pseudonym"]) == 12 for row in dashboard["individuals"])


@pytest.mark.django_db
def test_snapshot_is_frozen_and_decisions_are_followed_up(council_world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import selectors, services
    from utfall.platform.council.models import CouncilMeeting, DecisionStatus
    from utfall.platform.imports.models import DataRecord

    world = council_world
    first = _record(world, dt.date(2017, 10, 12), dt.date(2017, 9, 30))
    assert first.snapshot_sha256 == canonical_sha256(first.snapshot)
    saving = first.snapshot["costs"]["net_saving"]
    decision = services.decision_add(
        meeting=first,
        actor=world.users[Role.INTERMEDIARY],
        text="Tidigarelägg läxhjälpen",
        owner="Utföraren",
        due_on=dt.date(2017, 12, 31),
        kind="recommendation",
    )
    # New data after the meeting does not change what the meeting looked at.
    DataRecord.objects.filter(contract=world.contract, kind="cost_records").update(amount=1)
    first = CouncilMeeting.objects.get(pk=first.pk)
    assert first.snapshot["costs"]["net_saving"] == saving
    assert canonical_sha256(first.snapshot) == first.snapshot_sha256  # as stored and read back
    second = _record(world, dt.date(2018, 1, 18), dt.date(2017, 12, 31))
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
        _record(world, dt.date(2018, 1, 18), dt.date(2018, 2, 1))
    with pytest.raises(PermissionDenied):
        services.decision_add(
            meeting=first,
            actor=world.users[Role.FINANCIER],
            text="x",
            owner="y",
            due_on=dt.date(2018, 1, 1),
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
                "Nettobesparing hittills",
                "Beslut och rekommendationer",
                "Tidigarelägg läxhjälpen",
                "Den inkluderade gruppens kostnader mot den historiska referensen",
            ],
        ),
        (
            "en",
            [
                "Insatsråd kvartal 4",
                "Key figures",
                "Net saving to date",
                "Decisions and recommendations",
                "Tidigarelägg läxhjälpen",
                "Cost of the included group against the historical reference",
            ],
        ),
    ],
)
def test_quarterly_report_pdf_text(council_world, client, language, expected):
    pypdf = pytest.importorskip("pypdf")
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services

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
    pseudonym = world.contract.participants.filter(group="treatment").first().pseudonym
    assert pseudonym[:12] in text and pseudonym not in text


@pytest.mark.django_db
def test_other_contract_kinds_have_dashboards(db, make_user):
    """Sick leave and collective impact without data: from the contract's example facts."""
    from pathlib import Path

    from utfall.platform.contracts.services import contract_create
    from utfall.platform.council.selectors import dashboard_compute
    from utfall.platform.organisations.services import organisation_create

    examples = Path(__file__).resolve().parents[3] / "examples" / "contracts"
    organisation = organisation_create(name="Kommunen", actor=None)
    user = make_user("kommun", organisation)
    for name, kind, section in (
        ("sick-leave-ornskoldsvik", "sick_leave", "sick_leave"),
        ("hasselby-vallingby-collective-impact", "collective_impact", "actors"),
        ("national-fund-constellation", "outcomes", "outcome_values"),
    ):
        contract = contract_create(
            text=(examples / f"{name}.yaml").read_text(encoding="utf-8"),
            organisation=organisation,
            actor=user,
            file_name=f"{name}.yaml",
        )
        dashboard = dashboard_compute(contract=contract, as_of=dt.date(2026, 1, 1))
        assert dashboard["kind"] == kind
        assert dashboard[section], name
        assert dashboard["settlement"]["error"] is None, dashboard["settlement"]
