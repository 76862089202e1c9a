"""A fund world: a fund administered by the delegation, two administrators, an applicant
constellation, an evaluator (with TOTP), the reference rate-card contract, the indicator
library and an open call."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "contracts")
FUND_CONTRACT = os.path.join(EXAMPLES, "national-fund-constellation.yaml")
CRITERIA = [
    {"code": "problem", "name": "Problem formulation", "is_base": True},
    {"code": "capacity", "name": "Organisational capacity", "is_base": True},
    {"code": "cross_sector", "name": "Cross-sector cooperation", "weight": "2"},
]
MSEK = Decimal(1_000_000)


class World:
    """Holds what the fixture made (attributes set below)."""


@pytest.fixture
def fund_world(db, make_user):
    from django.utils import timezone

    from utfall.core.fund import PILOT_BUDGET
    from utfall.platform.contracts.services import contract_create
    from utfall.platform.fund import services
    from utfall.platform.fund.demo import FUND_CONFIGURATION, indicator_library_seed
    from utfall.platform.organisations.services import organisation_create

    w = World()
    w.today = timezone.localdate()
    w.delegation = organisation_create(name="Delegationen", actor=None)
    w.municipality = organisation_create(name="Norrby kommun", actor=None)
    w.other_municipality = organisation_create(name="Söderås kommun", actor=None)
    w.admin = make_user("fundadmin", w.delegation)
    w.reviewer = make_user("fundreviewer", w.delegation)
    w.applicant = make_user("applicant", w.municipality)
    w.other_applicant = make_user("otherapplicant", w.other_municipality)
    w.outsider = make_user("fundoutsider")
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    w.evaluation_agency = organisation_create(name="Expertmyndigheten", actor=None)
    w.evaluator = make_user("fundevaluator", w.evaluation_agency)
    TOTP.activate(w.evaluator, generate_totp_secret())
    with open(FUND_CONTRACT, encoding="utf-8") as handle:
        w.contract = contract_create(
            text=handle.read(),
            organisation=w.municipality,
            actor=w.applicant,
            file_name="national-fund-constellation.yaml",
        )
    w.fund = services.fund_create(
        name="Pilot fund",
        administrator=w.delegation,
        budget=PILOT_BUDGET,
        actor=None,
        contract=w.contract,
        evaluator=w.evaluation_agency,
        configuration=FUND_CONFIGURATION,
    )
    w.indicators = {i.code: i for i in indicator_library_seed()}
    w.call = services.call_create(
        fund=w.fund,
        actor=w.admin,
        title="Call 1",
        description="Preventing youth crime",
        opens_on=w.today - timedelta(days=10),
        deadline=w.today + timedelta(days=30),
        outcome_payment_frame=40 * MSEK,
        implementation_start_year=2025,
        implementation_end_year=2028,
        criteria=CRITERIA,
    )

    def submit(
        name="Konstellation Norrby",
        *,
        budget=34 * MSEK,
        requested=17 * MSEK,
        organisation=None,
        actor=None,
        codes=("school_absence", "work_or_studies"),
    ):
        return services.application_submit(
            call=w.call,
            organisation=organisation or w.municipality,
            actor=actor or w.applicant,
            today=w.today,
            constellation_name=name,
            members=[
                {"name": "Norrby kommun", "kind": "municipality"},
                {"name": "Region Mitt", "kind": "region"},
            ],
            needs_analysis="Rising youth crime.",
            target_group="Young people 12–20.",
            theory_of_change="Prevention triangle.",
            evaluation_design="Baseline comparison.",
            readiness="Project leader appointed.",
            budget_total=budget,
            co_financing=budget - requested,
            requested_outcome_payment=requested,
            outcomes=[
                {
                    "indicator": w.indicators[c],
                    "desired_change": "Better",
                    "causal_effect": "Difference against the baseline",
                }
                for c in codes
            ],
        )

    w.submit = submit
    return w


@pytest.fixture
def selected(fund_world):
    """One application screened in, scored by both administrators and selected."""
    from utfall.platform.fund import services

    w = fund_world
    application = w.submit()
    services.application_screen(
        application=application,
        actor=w.admin,
        qualified=True,
        strengths="Clear",
        weaknesses="Evidence",
    )
    from utfall.platform.fund.deep_analysis import conflict_declare

    for person in (w.admin, w.reviewer):
        conflict_declare(application=application, actor=person, has_conflict=False, description="")
        services.review_submit(
            application=application,
            actor=person,
            scores={"problem": 4, "capacity": 3, "cross_sector": 5},
        )
    services.call_close(call=w.call, actor=w.admin)
    services.selection_decide(
        call=w.call,
        actor=w.admin,
        application_ids=[application.pk],
        reasons="Highest score that fits.",
    )
    application.refresh_from_db()
    w.application = application
    w.constellation = application.constellation
    return w
