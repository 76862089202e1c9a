"""A contract whose visits table is a series (no participants needed), and the import
of a file with thousands of bad rows."""

from __future__ import annotations

import pytest
from import_problem_files import bad_visits_csv
from platform_helpers import UNKNOWN_CONTRACT, upload


@pytest.fixture
def visits_world(world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create

    world.visits = contract_create(
        text=UNKNOWN_CONTRACT.replace("kind: events", "kind: series"),
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="visits.yaml",
    )
    return world


@pytest.fixture
def bad_import(visits_world):
    """The 6,940-row file uploaded and validated (inline): an invalid batch."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.services import import_upload, import_validate

    user = visits_world.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=visits_world.visits,
        table="visits",
        uploaded=upload("besok.csv", bad_visits_csv()),
        actor=user,
    )
    batch = import_validate(batch=batch, actor=user, background=False)
    visits_world.batch = batch
    return visits_world
