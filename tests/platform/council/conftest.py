"""A Norrköping contract with a small, deterministic data set for the council tests.

Twelve included children: four in the age band ``ZZ4`` (a subgroup of four that
must never be published) and eight aged 13-15; a reference cohort of 30. Costs
months 0–17 since inclusion, school results before and after, social scores at
three points (the third only for three children, so it is suppressed too).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from council_helpers import SMALL_GROUP

AS_OF = dt.date(2019, 1, 31)


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def council_world(world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.models import BatchStatus, DataRecord, ImportBatch
    from utfall.platform.participants.models import Participant

    contract = world.contract
    commissioner = world.users[Role.COMMISSIONER]
    batch = ImportBatch.objects.create(
        contract=contract,
        kind="participants",
        file_name="fixture.csv",
        file_path="",
        file_sha256="0" * 64,
        file_size=0,
        status=BatchStatus.COMMITTED,
        created_by=commissioner,
    )
    rng = np.random.default_rng(7)
    people = []
    for k in range(12):
        people.append(
            Participant(
                contract=contract,
                pseudonym=f"{k:02d}" + "ab" * 31,
                included_on=dt.date(2016, 8, 1),
                group="treatment",
                cohort=SMALL_GROUP if k < 4 else "13-15",
                batch=batch,
            )
        )
    for k in range(30):
        people.append(
            Participant(
                contract=contract,
                pseudonym=f"{k:02d}" + "cd" * 31,
                included_on=dt.date(2012, 1, 1),
                group="comparison",
                cohort=SMALL_GROUP if k < 10 else "13-15",
                batch=batch,
            )
        )
    Participant.objects.bulk_create(people)
    people = list(contract.participants.order_by("pk"))
    records = []

    def add(person, kind, date, **values):
        records.append(
            DataRecord(
                contract=contract, batch=batch, kind=kind, participant=person, date=date, **values
            )
        )

    for index, person in enumerate(people):
        treated = person.group == "treatment"
        for m in range(18):
            effect = 1.1 if m < 6 else 0.7
            cost = (40000 - 1000 * m) * (effect if treated else 1.0) * rng.uniform(0.8, 1.2)
            add(
                person,
                "cost_records",
                _month(person.included_on, m),
                category="placement",
                amount=Decimal(f"{cost:.2f}"),
            )
        if index % 12 < 7:  # placed in the year before inclusion
            add(
                person,
                "placement_days",
                _month(person.included_on, -2),
                category="",
                quantity=Decimal(20),
            )
        if treated:
            add(person, "placement_days", dt.date(2019, 1, 1), category="", quantity=Decimal(10))
        # Merit points before and 24 months after inclusion: the included children gain,
        # the reference group's results tend to decline (DESIGN.md 2.1).
        before = 150 + 10 * rng.standard_normal()
        after = before + (15 if treated else -10) + 5 * rng.standard_normal()
        for date, value in ((person.included_on, before), (_month(person.included_on, 24), after)):
            add(
                person,
                "school_results",
                date,
                category="merit_points",
                quantity=Decimal(f"{value:.1f}"),
            )
        if treated:
            points = 3 if index < 3 else 2
            for point in range(1, points + 1):
                for dimension in ("mental_health", "participation", "own_goal_attainment"):
                    if dimension == "own_goal_attainment":
                        score = 0 if point == 1 else int(rng.random() < 0.8)
                    else:
                        score = int(np.clip(round(2.5 + 0.5 * (point - 1) + rng.normal()), 1, 5))
                    add(
                        person,
                        "social_scores",
                        _month(person.included_on, 6 * (point - 1)),
                        category=dimension,
                        point=point,
                        quantity=Decimal(score),
                    )
    for quarter in range(6):
        records.append(
            DataRecord(
                contract=contract,
                batch=batch,
                kind="cost_reports",
                participant=None,
                date=_month(dt.date(2016, 9, 1), 3 * quarter),
                category="salaries",
                amount=Decimal("500000.00"),
            )
        )
    DataRecord.objects.bulk_create(records)
    # The evaluator needs two-factor set up before any page opens (password sign-in in the
    # browser test still works: the second step is asked for by allauth only at sign-in).
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    world.totp_secret = generate_totp_secret()
    TOTP.activate(world.users[Role.EVALUATOR], world.totp_secret)
    world.as_of = AS_OF
    return world
