"""Helpers of the settlement tests: the world (organisations, users, a contract, its data),
the statement period and a signed statement. Imported by name (``from settlement_helpers
import …``); pytest's ``conftest`` modules are not, since several directories have one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from platform_helpers import totp_code

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"


class World:
    """Organisations, one user per role (the evaluator with TOTP), the contract, the data."""


def build_world(*, size: int = 20, with_data: bool = True, contract: Path = CONTRACT) -> World:
    """Organisations and users for every role, ``contract`` with all parties; with
    ``with_data`` synthetic Norrköping data imported (``size`` children)."""
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
        text=contract.read_text(encoding="utf-8"),
        organisation=world.organisations[Role.COMMISSIONER],
        actor=commissioner,
        file_name=contract.name,
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


def clean_database() -> None:
    """Remove everything a world made (module-scoped worlds live outside the test transaction)."""
    from allauth.mfa.models import Authenticator
    from django.contrib.auth import get_user_model

    from utfall.platform.audit.models import AuditEvent
    from utfall.platform.contracts.models import Contract, Settlement
    from utfall.platform.imports.models import DataRecord, ImportBatch
    from utfall.platform.organisations.models import ApiToken, Membership, Organisation
    from utfall.platform.participants.models import Participant
    from utfall.platform.settlements.models import EvaluatorKey, LedgerRecord, SettlementComment

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
