"""A Norrköping contract with synthetic data imported through the import services, once per
module (importing is the slow part); each test runs in its own transaction on top of it.

The evaluation specs are the ones in ``examples/evaluations`` with fewer bootstrap
replicates, so a settlement takes a second, not ten.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from django.test import override_settings
from platform_helpers import totp_code

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"


@pytest.fixture(scope="session")
def specs_dir():
    directory = Path(tempfile.mkdtemp(prefix="utfall-specs-"))
    for spec in (ROOT / "examples" / "evaluations").glob("*.yaml"):
        text = re.sub(r"reps: \d+", "reps: 49", spec.read_text(encoding="utf-8"))
        (directory / spec.name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(autouse=True)
def _fast_specs(specs_dir):
    with override_settings(UTFALL_EVALUATION_SPECS_DIR=str(specs_dir)):
        yield


class World:
    """Organisations, one user per role (the evaluator with TOTP), the contract, the data."""


def build_world(*, size: int = 20, with_data: bool = True) -> World:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model

    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create, contract_party_set
    from utfall.platform.organisations.services import membership_add, organisation_create

    world = World()
    world.organisations = {
        role: organisation_create(name=f"Org {role.value}", actor=None) for role in Role
    }
    world.users = {}
    for role in Role:
        user = get_user_model().objects.create_user(
            username=role.value, email=f"{role.value}@example.invalid", password="pw-test-123"
        )
        membership_add(user=user, organisation=world.organisations[role], actor=None)
        world.users[role] = user
    TOTP.activate(world.users[Role.EVALUATOR], generate_totp_secret())
    commissioner = world.users[Role.COMMISSIONER]
    world.contract = contract_create(
        text=CONTRACT.read_text(encoding="utf-8"),
        organisation=world.organisations[Role.COMMISSIONER],
        actor=commissioner,
        file_name=CONTRACT.name,
    )
    for role in Role:
        if role != Role.COMMISSIONER:
            contract_party_set(
                contract=world.contract,
                organisation=world.organisations[role],
                role=role,
                actor=commissioner,
            )
    outsider_org = organisation_create(name="Org outsider", actor=None)
    world.outsider = get_user_model().objects.create_user(
        username="outsider", email="outsider@example.invalid", password="pw-test-123"
    )
    membership_add(user=world.outsider, organisation=outsider_org, actor=None)
    if with_data:
        import_synthetic(world, size=size)
    world.evaluator = world.users[Role.EVALUATOR]
    return world


def import_synthetic(world: World, *, size: int) -> None:
    """Synthetic Norrköping data through the ordinary import services (as the demo does)."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.demo import _import, _norrkoping_files
    from utfall.synth import generate

    with tempfile.TemporaryDirectory(prefix="utfall-test-synth-") as temporary:
        folder = Path(temporary)
        generate("norrkoping", folder / "synth", size=size, seed=11)
        for kind, path in _norrkoping_files(folder, folder / "synth").items():
            actor = world.users[Role.PROVIDER if kind == "social_scores" else Role.COMMISSIONER]
            _import(world.contract, kind, path, actor, lambda _text: None)


@pytest.fixture(scope="module")
def settled_world(django_db_setup, django_db_blocker):
    """The world with data, made once per module and removed afterwards."""
    from django.contrib.auth import get_user_model

    from utfall.platform.audit.models import AuditEvent
    from utfall.platform.contracts.models import Contract, Settlement
    from utfall.platform.organisations.models import Organisation
    from utfall.platform.settlements.models import (
        EvaluatorKey,
        LedgerRecord,
        SettlementComment,
    )

    with django_db_blocker.unblock():
        world = build_world()
    yield world
    with django_db_blocker.unblock():
        from allauth.mfa.models import Authenticator

        from utfall.platform.imports.models import DataRecord, ImportBatch
        from utfall.platform.organisations.models import ApiToken, Membership
        from utfall.platform.participants.models import Participant

        SettlementComment.objects.all().delete()
        Settlement.objects.filter(supersedes__isnull=False).delete()
        Settlement.objects.all().delete()
        AuditEvent.objects.all().delete()
        DataRecord.objects.all().delete()
        Participant.objects.all().delete()
        ImportBatch.objects.all().delete()
        Contract.objects.all().delete()
        ApiToken.objects.all().delete()
        Membership.objects.all().delete()
        LedgerRecord.objects.all().delete()
        EvaluatorKey.objects.all().delete()
        Authenticator.objects.all().delete()
        Organisation.objects.all().delete()
        get_user_model().objects.all().delete()


PERIOD = {"period_start": "2016-02-15", "period_end": "2021-12-31"}
INVESTED = {"invested_sek": ("10000000", "the financier's drawdowns, LSV statement 2021")}


def make_final(world):
    """Start, review and sign a statement of the world's contract."""
    import datetime as dt

    from utfall.platform.settlements.services import (
        settlement_review_start,
        settlement_sign,
        settlement_start,
    )

    draft = settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        period_start=dt.date.fromisoformat(PERIOD["period_start"]),
        period_end=dt.date.fromisoformat(PERIOD["period_end"]),
        manual_inputs=INVESTED,
    )
    settlement_review_start(settlement=draft, actor=world.evaluator)
    return settlement_sign(
        settlement=draft, actor=world.evaluator, totp_code=totp_code(world.evaluator)
    )


@pytest.fixture(scope="module")
def final_world(settled_world, django_db_blocker, specs_dir):
    """The world with one final (signed) statement: ``world.final``."""
    with django_db_blocker.unblock(), override_settings(UTFALL_EVALUATION_SPECS_DIR=str(specs_dir)):
        settled_world.final = make_final(settled_world)
    return settled_world
