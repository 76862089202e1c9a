"""A Norrköping contract whose invested amount is entered by the evaluator (not bound to an
evaluation), with synthetic data and the finance plan that draws on the imported cost
reports: the settlement form, the statement and the financier's view of issue 15."""

from __future__ import annotations

import pytest
from settle_ui_helpers import PLAN, manual_text
from settlement_helpers import build_world, clean_database


@pytest.fixture(scope="module")
def manual_world(django_db_setup, django_db_blocker):
    """The world, its contract with one entered money input, and the finance plan."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.services import finance_plan_upload

    with django_db_blocker.unblock():
        world = build_world(text=manual_text())
        finance_plan_upload(
            contract=world.contract,
            actor=world.users[Role.FINANCIER],
            text=PLAN.read_text(encoding="utf-8"),
        )
    yield world
    with django_db_blocker.unblock():
        clean_database()
