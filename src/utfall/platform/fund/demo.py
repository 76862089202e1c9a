"""Demo of the national outcomes fund: a fund with a call, applications, a selection and a
first six-monthly payment cycle; the reference contracts published on the knowledge platform.

Everything goes through the fund's and the knowledge platform's services, so the demo
exercises them. Constellations, budgets and indicator reports come from the synthetic fund
(``utfall synth fund``), with a fixed seed.

The demo is where the reference data live: the indicator library (appendix 4 of the
proposal for national outcome financing, then the outcomes of the other reference
contracts) and the fund's configuration against its reference contract (where it writes
the reports, the costs and its payments).

Its texts are written as Swedish users would write them: the applications, reviews,
comments and decisions in Swedish; the library's and the call's texts that pages show in
the reader's language as ``svenska / English`` pairs (shown by their half).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy

from utfall.core.fund import PILOT_BUDGET
from utfall.platform.contracts.models import Contract
from utfall.platform.fund import deep_analysis, services
from utfall.platform.fund.deep_analysis import conflict_declare
from utfall.platform.fund.models import (
    ApplicationStatus,
    Call,
    Constellation,
    DeliverableStatus,
    Direction,
    Fund,
    Indicator,
)
from utfall.platform.fund.selectors import selection_proposal
from utfall.platform.knowledge.models import Stage
from utfall.platform.knowledge.services import lesson_add, publication_update
from utfall.platform.organisations import services as organisation_services
from utfall.platform.organisations.models import Organisation
from utfall.platform.settlements.services import (
    settlement_comment,
    settlement_review_start,
    settlement_sign,
)

__all__ = [
    "FUND_CONFIGURATION",
    "FUND_NAME",
    "INDICATOR_LIBRARY",
    "indicator_library_seed",
    "load_fund_demo",
]

FUND_NAME = "Nationell utfallsfinansiering – pilot 2023–2028 (demo)"
ADMINISTRATOR = "Delegationen för nationell utfallsfinansiering (demo)"
FUND_CONTRACT = "national-fund-constellation"
# The contract the local project leaders' support is settled under (decision 0960): its
# table and column of the project leader's costs per half-year and its output (what is paid).
SUPPORT_CONTRACT = "national-fund-support"
SUPPORT_TERMS = {
    "support_table": "project_leader_costs",
    "support_column": "costs",
    "support_output": "support_payment_sek",
}
# What the demo's deep analyses deliver (seed 003 tabell 5), in Swedish as a constellation
# would write it.
DELIVERED = {
    "project_leader": "Projektledare anställd på heltid; nulägesbild av pågående insatser, "
    "förankring hos skolan och socialtjänsten.",
    "local_data": "Skolfrånvaro, orosanmälningar och fritidsdeltagande per område 2019–2023; "
    "intervjuer med unga, föräldrar och personal.",
    "theory_of_change": "Effektlogik över hela preventionstriangeln (se nedan).",
    "evidence": "Föräldrastöd och närvaroarbete har stöd i systematiska översikter; de "
    "selektiva fritidsinsatserna följs som lovande praktik.",
    "outcome_definitions": "Utfallen på tre nivåer är förankrade med delegationen och "
    "kopplade till indikatorbiblioteket.",
    "implementation_plan": "Start i två skolområden hösten 2024, fler områden 2025.",
    "follow_up_plan": "Halvårsrapporter enligt det gemensamma protokollet; processuppföljning "
    "med SKR och RISE.",
    "consequence_analysis": "Skolan och socialtjänsten avsätter personal; inga andra insatser "
    "läggs ned.",
    "follow_up_protocol": "Gemensamt uppföljningsprotokoll: baslinje före genomförandet, sedan "
    "var sjätte månad, per indikator, antalet i målgruppen (n) och antalet som uppfyller den, "
    "samt kostnaderna hittills.",
}
# Where the fund writes into its reference contract (examples/contracts/<FUND_CONTRACT>.yaml).
FUND_CONFIGURATION = services.FundConfiguration(
    reports_table="outcome_reports",
    indicator_column="indicator",
    n_column="n",
    count_column="count",
    baseline_column="baseline",
    costs_table="cost_reports",
    costs_column="costs_to_date",
    payments_table="outcome_payments",
    payment_column="amount",
    value_output="rate_card_value_sek",
)
APPENDIX_4_SOURCE = (
    "Förslaget om nationell utfallsfinansiering, bilaga 4 (fall: förebygga "
    "ungdomskriminalitet) / Proposal for national outcome financing, appendix 4 (case: "
    "preventing youth crime)"
)
# Appendix 4 (Bilaga 4): indicators for preventing youth crime, first in the library;
# the codes are the values of the reference contract's indicator column.
APPENDIX_4 = (
    services.IndicatorEntry(
        "parenting_capacity",
        "Ökad föräldraförmåga / Increased parenting capacity",
        "Good attachment and language development",
        "families",
        Direction.HIGHER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "language_grade_1",
        "God språkutveckling och uppnått utbildningsspråk (svenska) i första klass / Good "
        "language development; school-level Swedish in first grade",
        "Children start school with an adequate school language",
        "children",
        Direction.HIGHER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "school_absence",
        "Minskad skolfrånvaro / Reduced school absence",
        "Pupils attend school; absence is noticed early",
        "pupils",
        Direction.LOWER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "upper_secondary_eligibility",
        "Ökad gymnasiebehörighet (område eller riskgrupp) / Increased eligibility for "
        "upper-secondary school",
        "All pupils are eligible for an upper-secondary programme",
        "pupils",
        Direction.HIGHER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "work_or_studies",
        "Ökad andel i arbete/sysselsättning/studier / Increased share in work, employment or "
        "studies",
        "Young adults can support themselves",
        "young people",
        Direction.HIGHER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "criminal_group_inflow",
        "Minskat inflöde till kriminella grupperingar / Reduced inflow into criminal groups",
        "Fewer young people are drawn into crime",
        "young people",
        Direction.LOWER,
        APPENDIX_4_SOURCE,
    ),
    services.IndicatorEntry(
        "youth_at_risk",
        "Minskad andel unga och unga vuxna i riskzonen för kriminalitet / Reduced share of "
        "young people at risk of crime (acting-out behaviour, substance abuse)",
        "Fewer young people and young adults at risk of crime",
        "young people",
        Direction.LOWER,
        APPENDIX_4_SOURCE,
    ),
)
# Outcomes of the other reference contracts, reusable by constellations (followed: the fund's
# contract does not pay on them).
NORRKOPING_SOURCE = (
    "Referensavtalet Norrköping, placerade barn / Reference contract Norrköping, placed children"
)
REFERENCE_OUTCOMES = (
    services.IndicatorEntry(
        "placement_costs",
        "Lägre kostnader för placeringar och öppenvård / Lower costs of placements and "
        "outpatient care than historically expected",
        "Placed children return home and stay home",
        "SEK",
        Direction.LOWER,
        NORRKOPING_SOURCE,
    ),
    services.IndicatorEntry(
        "school_results_placed",
        "Förbättrade skolresultat för placerade barn / Better school results of placed "
        "children (merit points, passed subjects)",
        "Placed children succeed in school",
        "pupils",
        Direction.HIGHER,
        NORRKOPING_SOURCE,
    ),
    services.IndicatorEntry(
        "short_term_sick_leave",
        "Minskad korttidssjukfrånvaro (dag 1–14), trendjusterad / Reduced short-term sick "
        "leave, trend-adjusted",
        "Employees stay healthy at work",
        "days",
        Direction.LOWER,
        "Referensavtalet Botkyrka, korttidssjukfrånvaro / Reference contract Botkyrka, "
        "short-term sick leave",
    ),
    services.IndicatorEntry(
        "collective_process_outcomes",
        "Processutfall hos civilsamhällesaktörer med gemensam utfallspott / Process outcomes "
        "of civil-society actors with a joint outcome pot",
        "Actors in the district work towards a shared goal",
        "milestones",
        Direction.HIGHER,
        "Referensavtalet Hässelby-Vällingby, flexibelt tidigt stöd / Reference contract "
        "Hässelby-Vällingby, flexible early support",
    ),
)
INDICATOR_LIBRARY = APPENDIX_4 + REFERENCE_OUTCOMES
# The desired change in an application's own words (the applicants write Swedish).
DESIRED_CHANGE = {
    "parenting_capacity": "Föräldrarna har bättre förmåga att stödja sina barn",
    "language_grade_1": "Barnen börjar skolan med ett fungerande skolspråk",
    "school_absence": "Eleverna går i skolan och frånvaro upptäcks tidigt",
    "upper_secondary_eligibility": "Fler elever blir behöriga till gymnasiet",
    "work_or_studies": "Fler unga vuxna arbetar eller studerar och kan försörja sig",
    "criminal_group_inflow": "Färre unga dras in i kriminella grupperingar",
    "youth_at_risk": "Färre unga och unga vuxna är i riskzonen för kriminalitet",
}
SEED = 2023
PLACES = ("Norrby", "Söderås", "Västerån", "Österbro", "Mellanvik", "Sjöstad")
KIND_OF = {"municipality": "municipality", "region": "region", "agency": "agency"}
CRITERIA = (
    {
        "code": "problem",
        "name": "Problemformulering / Problem formulation",
        "weight": 1,
        "is_base": True,
        "description": "Behovsanalys och en tydlig problemformulering. / Needs analysis and "
        "a clear problem formulation.",
    },
    {
        "code": "objectives",
        "name": "Målsättning och utfall / Objectives and outcomes",
        "weight": 1,
        "is_base": True,
        "description": "Utfallsdefinitioner på tre nivåer med en utvärderingsdesign. / "
        "Outcome definitions at three levels with an evaluation design.",
    },
    {
        "code": "capacity",
        "name": "Organisatorisk kapacitet / Organisational capacity",
        "weight": 1,
        "is_base": True,
        "description": "Svaren på enkäten om organisatorisk beredskap. / Answers to the "
        "readiness survey.",
    },
    {
        "code": "cross_sector",
        "name": "Tvärsektoriell samverkan / Cross-sector cooperation",
        "weight": "1.5",
        "description": "Samverkan över flera huvudmän föredras. / Cooperation across "
        "principals is preferred.",
    },
    {
        "code": "theory",
        "name": "Förändringsteori och evidens / Theory of change and evidence",
        "weight": 1,
        "description": "Täcker hela preventionstriangeln och stäms av mot evidens. / Covers "
        "the prevention triangle; matched against evidence.",
    },
)
PUBLISHED = {
    "national-fund-constellation": (
        "Criminal justice",
        Stage.IMPLEMENTATION,
        "Statens utfallsersättning till en konstellation som förebygger ungdomskriminalitet: "
        "en prislista för indikatorerna i bilaga 4, högst 50 % av kostnaderna. / "
        "The state's outcome payment to a constellation preventing youth crime.",
    ),
    "norrkoping-placed-children": (
        "Child and family welfare",
        Stage.COMPLETE,
        "Norrköping 2016–2021: samordnat stöd till placerade barn, finansierat av en "
        "finansiär och återbetalt ur uppmätta besparingar. / Coordinated support for "
        "children in institutional care, repaid from measured savings.",
    ),
    "sick-leave-botkyrka": (
        "Employment and training",
        Stage.IMPLEMENTATION,
        "Botkyrka: minskad korttidssjukfrånvaro, trendjusterad mot ett nationellt index. / "
        "Reduced short-term sick leave, trend-adjusted.",
    ),
    "sick-leave-ornskoldsvik": (
        "Employment and training",
        Stage.IMPLEMENTATION,
        "Örnsköldsvik: minskad korttidssjukfrånvaro med en större aktivitetsbaserad del. / "
        "Reduced short-term sick leave with a larger activity-based share.",
    ),
    "hasselby-vallingby-early-support": (
        "Child and family welfare",
        Stage.CONTRACTED,
        "Hässelby-Vällingby: civilsamhället kontrakterat för flexibelt tidigt stöd, fem "
        "aktörer med en gemensam utfallspott. / Civil society contracted for flexible early "
        "support, five actors with a joint outcome pot.",
    ),
}


def indicator_library_seed() -> list[Indicator]:
    """The demo's indicator library (idempotent): appendix 4, then the reference contracts'
    outcomes."""
    return services.indicator_library_update(entries=INDICATOR_LIBRARY)


def _organisation(name: str) -> Organisation:
    existing = Organisation.objects.filter(name=name).first()
    return existing or organisation_services.organisation_create(name=name, actor=None)


def _period(start: Any) -> tuple[date, date]:
    begins = start if isinstance(start, date) else date.fromisoformat(str(start)[:10])
    ends = services._add_months(begins, 6)
    return begins, date.fromordinal(ends.toordinal() - 1)


def _publish(commissioner: Any, log: Any) -> None:
    for identifier, (sector, stage, summary) in PUBLISHED.items():
        contract = Contract.objects.filter(identifier=identifier).first()
        if contract is None or getattr(contract, "publication", None) is not None:
            continue
        publication_update(
            contract=contract,
            actor=commissioner,
            published=True,
            stage=stage,
            policy_sector=sector,
            summary=summary,
        )
        log(f"  published {identifier} on the knowledge platform")
    norrkoping = Contract.objects.filter(identifier="norrkoping-placed-children").first()
    if norrkoping is not None and not norrkoping.publication.lessons.exists():
        lesson_add(
            contract=norrkoping,
            actor=commissioner,
            title="Kostnaderna steg de första 6–12 månaderna / Costs rose in the first 6–12 months",
            body="Fler placeringsdygn i början; nettobesparing från månad 9. Effekten var större "
            "för yngre barn i skolåldern med tidigare placeringar. / More placement days early "
            "on; net savings from month 9. The effect was larger for younger school-age "
            "children with earlier placements.",
        )


def _current_totp_code(secret: str, used: set[str], log: Any) -> str:
    """A TOTP code of the evaluator that sign-off accepts now, as their authenticator app
    shows it: the current period's or, within the tolerance the platform allows for clock
    drift (``MFA_TOTP_TOLERANCE``), a neighbouring one's. A code is accepted once: when this
    run has used every acceptable one, wait for the next period. Never within a second of
    a period's end, when the oldest acceptable code is about to expire."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    tolerance = app_settings.TOTP_TOLERANCE
    while True:
        if period - time.time() % period > 1:
            counter = int(time.time()) // period
            for offset in range(-tolerance, tolerance + 1):  # the oldest first
                code = format_hotp_value(hotp_value(secret, counter + offset))
                if code not in used:
                    used.add(code)
                    return code
        wait = period - time.time() % period + 0.1
        log(f"  waiting {wait:.0f} s for the evaluator's next TOTP code")
        time.sleep(wait)


def load_fund_demo(
    *,
    log: Any = print,
    with_data: bool = True,
    totp_code: Callable[[Any], str] | None = None,
) -> list[Any]:
    """Create (or leave as it is) the fund demo; returns the fund-administrator logins.

    The demo evaluator (``evaluator``) evaluates the first six-monthly reports and signs the
    statements off with a fresh TOTP code; ``totp_code(user)`` gives that code (by default
    the current one from the evaluator's secret, waiting up to 30 s between signatures).
    """
    from utfall.platform.contracts.models import Role
    from utfall.platform.demo import DEMO_PASSWORD, ORGANISATIONS, DemoLogin, _totp, _user

    administrator = _organisation(ADMINISTRATOR)
    admin = _user("fund_admin")
    reviewer = _user("fund_reviewer")
    applicant = _user("constellation")
    # Pages name people (the decision log, the reviews), not their login names.
    for user, (first, last) in (
        (admin, ("Ada", "Fondförvaltare")),
        (reviewer, ("Bo", "Bedömare")),
        (applicant, ("Cecilia", "Sökande")),
    ):
        if not user.first_name:
            user.first_name, user.last_name = first, last
            user.save(update_fields=["first_name", "last_name"])
    for user in (admin, reviewer):
        organisation_services.membership_add(user=user, organisation=administrator, actor=None)
    logins = [
        DemoLogin("fund_admin", DEMO_PASSWORD, gettext_lazy("Fund administrator"), None),
        DemoLogin(
            "fund_reviewer", DEMO_PASSWORD, gettext_lazy("Fund administrator (reviewer)"), None
        ),
        DemoLogin("constellation", DEMO_PASSWORD, gettext_lazy("Applicant constellation"), None),
    ]
    evaluation_agency = _organisation(ORGANISATIONS[Role.EVALUATOR])
    evaluator = _user(Role.EVALUATOR.value)
    organisation_services.membership_add(user=evaluator, organisation=evaluation_agency, actor=None)
    secret = _totp(evaluator)
    used: set[str] = set()
    sign_code = totp_code or (lambda _user: _current_totp_code(secret, used, log))
    commissioner = _user("commissioner")
    _publish(commissioner, log)
    indicator_library_seed()
    if Fund.objects.filter(name=FUND_NAME).exists():
        return logins
    contract = Contract.objects.filter(identifier=FUND_CONTRACT).first()
    fund = services.fund_create(
        name=FUND_NAME,
        administrator=administrator,
        budget=PILOT_BUDGET,
        actor=None,
        contract=contract,
        evaluator=evaluation_agency,
        configuration=FUND_CONFIGURATION if contract is not None else None,
    )
    services.phases_set(fund=fund, start=date(2023, 1, 1), actor=admin)
    support = Contract.objects.filter(identifier=SUPPORT_CONTRACT).first()
    if support is not None:
        deep_analysis.fund_support_configure(
            fund=fund, contract=support, actor=None, **SUPPORT_TERMS
        )
    call = services.call_create(
        fund=fund,
        actor=admin,
        title="Utlysning 2023: Förebygga ungdomskriminalitet / Call 2023: preventing youth crime",
        # "svenska / English": the pages show the half in the reader's language.
        description="Konstellationer av kommuner, regioner och/eller statliga myndigheter "
        "ansöker om utfallsfinansiering för en insats som förebygger ungdomskriminalitet. "
        "Staten betalar högst 50 % av kostnaderna, som utfallsersättning. / "
        "Constellations of municipalities, regions and/or national agencies apply for "
        "outcome financing of an initiative to prevent youth crime. The state pays at most "
        "50 % of the costs, as outcome payment.",
        opens_on=date(2023, 6, 1),
        deadline=date(2023, 8, 31),
        outcome_payment_frame=Decimal("60000000"),
        implementation_start_year=2024,
        implementation_end_year=2028,
        criteria=CRITERIA,
        documents="https://example.invalid/utlysning-2023.pdf\n"
        "https://example.invalid/enkat-organisatorisk-beredskap.pdf",
    )
    log(f"  created the fund {fund.name} with the call {call.pk}")
    if with_data:
        _applications_and_cycle(
            call, admin, reviewer, applicant, log, evaluator=evaluator, totp_code=sign_code
        )
    return logins


def _applications_and_cycle(
    call: Call,
    admin: Any,
    reviewer: Any,
    applicant: Any,
    log: Any,
    *,
    evaluator: Any,
    totp_code: Callable[[Any], str],
) -> None:
    import pandas as pd

    from utfall.synth.fund import generate

    rng = np.random.default_rng(SEED)
    indicators = {i.code: i for i in Indicator.objects.all()}
    with tempfile.TemporaryDirectory(prefix="utfall-fund-demo-") as folder:
        generate(Path(folder), seed=SEED, size=len(PLACES))
        constellations = pd.read_parquet(Path(folder) / "constellations.parquet")
        reports = pd.read_parquet(Path(folder) / "indicator_reports.parquet")
        costs = pd.read_parquet(Path(folder) / "costs.parquet")
    applications = {}
    for place, row in zip(PLACES, constellations.itertuples(), strict=True):
        organisation = _organisation(f"{place} kommun (demo)")
        organisation_services.membership_add(user=applicant, organisation=organisation, actor=None)
        members = [{"name": f"{place} kommun", "kind": "municipality"}]
        for principal in row.principals.split(";")[1:]:
            members.append({"name": f"{place} {principal}", "kind": KIND_OF[principal]})
        members.append({"name": f"Föreningen Unga i {place}", "kind": "civil_society"})
        budget = Decimal(int(row.budget_sek))
        requested = (budget * Decimal("0.45")).quantize(Decimal("1"))
        baseline = reports[
            (reports.constellation_id == row.constellation_id) & (reports.period == 0)
        ]
        outcomes = [
            {
                "indicator": indicators[code],
                "desired_change": DESIRED_CHANGE.get(code, ""),
                "causal_effect": "Förändringen i andelen jämfört med konstellationens "
                "baslinje (skillnad i medelvärden), som utvärderaren verifierar varje halvår.",
                "baseline_share": Decimal(
                    str(round(float(baseline[baseline.indicator == code].value.iloc[0]), 4))
                ),
            }
            for code in row.indicators.split(";")
        ]
        application = services.application_submit(
            call=call,
            organisation=organisation,
            actor=applicant,
            today=date(2023, 8, 15),
            constellation_name=f"Konstellation {place}",
            members=members,
            needs_analysis=f"Ungdomskriminaliteten ökar i {place}. Skolfrånvaro och tidiga "
            "utagerande beteenden är de första tecknen i våra lokala uppgifter.",
            target_group="Barn och unga 6–20 år i de mest utsatta områdena, och deras föräldrar.",
            theory_of_change="Universella, selektiva och indikerade insatser i hela "
            "preventionstriangeln: föräldrastöd, närvaro i skolan, fritid och arbete.",
            evaluation_design="Indikatorrapporter varje halvår mot en baslinje; "
            "jämförelseområden där uppgifterna räcker till.",
            readiness="Projektledare är utsedd; skolan och socialtjänsten har kommit överens "
            "om att dela uppgifter.",
            budget_total=budget,
            co_financing=budget - requested,
            requested_outcome_payment=requested,
            outcomes=outcomes,
        )
        applications[row.constellation_id] = application
    log(f"  submitted {len(applications)} applications to the call")
    services.call_close(call=call, actor=admin)
    for index, application in enumerate(applications.values()):
        qualified = index != len(applications) - 1
        services.application_screen(
            application=application,
            actor=admin,
            qualified=qualified,
            strengths="Tydlig problemformulering som bygger på lokala uppgifter; engagerade "
            "huvudmän.",
            weaknesses="Förändringsteorin behöver stöd i evidens för de selektiva insatserna."
            if qualified
            else "Samverkan mellan huvudmännen är ännu inte förankrad och enkäten om "
            "beredskap visar inget uppgiftsdelande; utveckla detta inför en senare utlysning.",
        )
    for application in call.applications.filter(status=ApplicationStatus.SCREENED_IN):
        for person in (admin, reviewer):
            # Each reviewer declares their conflicts of interest before scoring.
            conflict_declare(
                application=application, actor=person, has_conflict=False, description=""
            )
            services.review_submit(
                application=application,
                actor=person,
                scores={c["code"]: int(rng.integers(2, 6)) for c in CRITERIA},
                comment="Bedömd mot utlysningens kriterier.",
            )
    proposal = [r.application.pk for r in selection_proposal(call) if r.proposed]
    _phase_3(call, admin, applicant, proposal, log)
    log(f"  selected {len(proposal)} constellations")
    by_application = {a.pk: cid for cid, a in applications.items()}
    for application in call.applications.filter(status=ApplicationStatus.SELECTED):
        constellation = application.constellation
        cid = by_application[application.pk]
        codes = {o.indicator.code: o.indicator for o in application.outcomes.all()}
        spent = Decimal(0)
        report = None
        for period in (0, 1):
            rows = reports[(reports.constellation_id == cid) & (reports.period == period)]
            lines = [
                {"indicator": codes[r.indicator], "n": int(r.n), "count": int(r.count)}
                for r in rows.itertuples()
            ]
            if period:
                spent += Decimal(
                    int(
                        costs[
                            (costs.constellation_id == cid) & (costs.period == period)
                        ].cost_sek.iloc[0]
                    )
                )
            start, end = _period(rows.period_start.iloc[0])
            report = services.report_submit(
                constellation=constellation,
                actor=applicant,
                period_start=start,
                period_end=end,
                reported_costs_to_date=spent,
                lines=lines,
                is_baseline=period == 0,
            )
        assert report is not None
        # The evaluator evaluates the report (a draft statement), the parties review it, the
        # evaluator signs it off with a fresh TOTP code; only the final statement is paid.
        draft = services.report_evaluate(report=report, actor=evaluator)
        settlement_review_start(settlement=draft, actor=evaluator)
        settlement_comment(
            settlement=draft,
            actor=admin,
            text="De redovisade kostnaderna stämmer med konstellationens kostnadsrapport.",
        )
        final = settlement_sign(settlement=draft, actor=evaluator, totp_code=totp_code(evaluator))
        payment = services.report_pay(report=report, actor=admin, year=2025)
        log(
            f"  {constellation.code}: statement {final.pk} signed off; outcome payment "
            f"{payment.amount} SEK ({payment.binding})"
        )
    _support(call, admin, applicant, evaluator, log, totp_code)


def _phase_3(call: Call, admin: Any, applicant: Any, proposal: list[int], log: Any) -> None:
    """Every qualified application through the deep analysis (seed 003 fas 3), then the
    delegation's decision: the proposal financed, the others told why and what to improve."""
    for application in call.applications.filter(status=ApplicationStatus.SCREENED_IN):
        analysis = deep_analysis.deep_analysis_start(
            application=application, actor=admin, today=date(2023, 10, 2)
        )
        for deliverable in analysis.deliverables.all():
            deep_analysis.deliverable_update(
                deliverable=deliverable,
                actor=applicant,
                status=DeliverableStatus.DONE,
                content=DELIVERED[deliverable.kind],
            )
        deep_analysis.prevention_triangle_set(
            analysis=analysis,
            actor=applicant,
            universal="Föräldrastöd och närvaroarbete för alla familjer och elever i området.",
            selective="Läxhjälp och fritidsaktiviteter för elever med ökande frånvaro.",
            indicated="Ett samordnat team av skola, socialtjänst och polis för unga som redan "
            "begått brott.",
            project_leader=f"Projektledare, {application.organisation.name}",
        )
    feedback = {
        application.pk: (
            "Analysen är genomförd, men utlysningens ram för utfallsersättning räcker till de "
            "konstellationer som fick högre poäng.",
            "Stärk evidensen för de selektiva insatserna och förankra uppgiftsdelningen "
            "mellan skolan och socialtjänsten inför spridningsutlysningen.",
        )
        for application in call.applications.filter(status=ApplicationStatus.SCREENED_IN)
        if application.pk not in proposal
    }
    deep_analysis.deep_analysis_decide(
        call=call,
        actor=admin,
        financed_ids=proposal,
        reasons="De högsta viktade medelpoängen från de två bedömarna som ryms inom "
        "utlysningens ram på 60 mnkr för utfallsersättning (rangordning och utrymme), efter "
        "en fullständig fördjupad analys.",
        feedback=feedback,
        today=date(2024, 3, 29),
    )
    log(f"  phase 3: {len(proposal)} financed, {len(feedback)} told why not")


def _support(
    call: Call,
    admin: Any,
    applicant: Any,
    evaluator: Any,
    log: Any,
    totp_code: Callable[[Any], str],
) -> None:
    """The first financed constellation's project leader paid by the fund for a half-year:
    the costs reported by the constellation, the evaluator's support statement through the
    settlement workflow, signed off with TOTP, then paid and signed on the ledger."""
    constellation = (
        Constellation.objects.filter(application__call=call, support_contract__isnull=False)
        .order_by("code")
        .first()
    )
    if constellation is None:
        return
    deep_analysis.support_costs_report(
        constellation=constellation,
        actor=applicant,
        period_end=date(2024, 6, 30),
        costs=Decimal("412000"),
    )
    draft = deep_analysis.support_statement_start(
        constellation=constellation,
        actor=evaluator,
        period_start=date(2024, 1, 1),
        period_end=date(2024, 6, 30),
    )
    settlement_review_start(settlement=draft, actor=evaluator)
    final = settlement_sign(settlement=draft, actor=evaluator, totp_code=totp_code(evaluator))
    payment = deep_analysis.support_pay(
        constellation=constellation, settlement=final, actor=admin, year=2024
    )
    log(f"  {constellation.code}: support statement {final.pk} signed off; {payment.amount} SEK")
