"""Helpers of the settlement tests: the world (organisations, users, a contract, its data),
the statement period and a signed statement. Imported by name (``from settlement_helpers
import …``); pytest's ``conftest`` modules are not, since several directories have one.

The contracts are the shipped examples with fewer bootstrap replicates (``reps: 49``), so a
settlement takes a second, not ten; their data are ``utfall synth`` output imported through
the ordinary import services, table by table as the contract declares them (the demo's
loader).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from platform_helpers import totp_code

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contracts" / "norrkoping-placed-children.yaml"
SIZE = 20
SEED = 11


def fast_text(path: Path) -> str:
    """The contract's text with 49 bootstrap replicates (the figures a test compares are
    point estimates and analytic intervals; the bootstrap only has to run)."""
    return re.sub(r"reps: \d+", "reps: 49", path.read_text(encoding="utf-8"))


class World:
    """Organisations, one user per role (the evaluator with TOTP), the contract, the data."""


def build_world(
    *,
    size: int = SIZE,
    seed: int = SEED,
    with_data: bool = True,
    contract: Path = CONTRACT,
    scenario: str = "norrkoping",
    text: str | None = None,
    create_contract: bool = True,
) -> World:
    """Organisations and users for every role, the contract (``text``, else ``contract``
    made fast) with all parties; with ``with_data`` the ``scenario``'s synthetic data
    imported (``size``, ``seed``). Without ``create_contract`` the people only."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model

    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create
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
    outsider_org = organisation_create(name="Org outsider", actor=None)
    world.outsider = get_user_model().objects.create_user(
        username="outsider", email="outsider@example.invalid", password="pw-test-123"
    )
    membership_add(user=world.outsider, organisation=outsider_org, actor=None)
    world.evaluator = world.users[Role.EVALUATOR]
    if not create_contract:
        return world
    world.text = text if text is not None else fast_text(contract)
    world.contract = contract_create(
        text=world.text,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=commissioner,
        file_name=contract.name,
    )
    add_parties(world)
    if with_data:
        import_synthetic(world, scenario=scenario, size=size, seed=seed)
    return world


def add_parties(world: World) -> None:
    """Every role's organisation becomes a party of ``world.contract`` (the commissioner's is)."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_party_set

    for role in Role:
        if role != Role.COMMISSIONER:
            contract_party_set(
                contract=world.contract,
                organisation=world.organisations[role],
                role=role,
                actor=world.users[Role.COMMISSIONER],
                accepted_by=world.users[role],
                approved_by=[world.users[Role.FINANCIER]],
            )


def synthesise(scenario: str, out: Path, *, size: int = SIZE, seed: int = SEED) -> Path:
    """``utfall synth SCENARIO`` into ``out`` (every table as CSV too)."""
    from utfall.synth import generate

    generate(scenario, out, size=size, seed=seed, csv=True)
    return out


def import_synthetic(world: World, *, scenario: str, size: int, seed: int) -> list[str]:
    """The scenario's declared tables through the ordinary import services (as the demo)."""
    from utfall.platform.demo import demo_import_tables

    with tempfile.TemporaryDirectory(prefix="utfall-test-synth-") as temporary:
        folder = synthesise(scenario, Path(temporary), size=size, seed=seed)
        return demo_import_tables(world.contract, folder, world.users, lambda _text: None)


PERIOD = {"period_start": "2016-02-15", "period_end": "2021-12-31"}


def make_final(world, **extra):
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
        period_start=dt.date.fromisoformat(extra.pop("period_start", PERIOD["period_start"])),
        period_end=dt.date.fromisoformat(extra.pop("period_end", PERIOD["period_end"])),
        **extra,
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
    from utfall.platform.imports.models import ImportBatch, TableSegment
    from utfall.platform.organisations.models import ApiToken, Membership, Organisation
    from utfall.platform.settlements.models import (
        EvaluatorKey,
        LedgerRecord,
        LogCheckpoint,
        LogKey,
        SettlementComment,
    )

    SettlementComment.objects.all().delete()
    Settlement.objects.filter(supersedes__isnull=False).delete()
    Settlement.objects.all().delete()
    AuditEvent.objects.all().delete()
    TableSegment.objects.all().delete()
    ImportBatch.objects.all().delete()
    Contract.objects.all().delete()
    ApiToken.objects.all().delete()
    Membership.objects.all().delete()
    LedgerRecord.objects.all().delete()
    LogCheckpoint.objects.all().delete()  # its cosignatures go with it
    LogKey.objects.all().delete()
    EvaluatorKey.objects.all().delete()
    Authenticator.objects.all().delete()
    Organisation.objects.all().delete()
    get_user_model().objects.all().delete()
