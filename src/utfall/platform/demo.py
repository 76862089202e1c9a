"""Demo data: organisations, one user per role, every example contract, synthetic data.

Everything goes through the same services a person uses (contract upload, party
roles, imports with validation and commit), so the demo also exercises them. Every
contract in ``examples/contracts`` is loaded; a contract whose synthetic scenario
``utfall synth`` knows (the small table :data:`SYNTHETIC` below, the one place a
contract is named) gets its declared tables imported: each table for which the
scenario wrote ``NAME.csv``, by a demo user of a role the table declares under
``import:``, the participants first. Participants are synthetic and identified by
references such as ``P-000001``; no personal identity number, real or realistic, is
used. The demo loader is the only part of the platform that reads ``examples/``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy

from utfall.core.contracts import parse_contract
from utfall.platform.contracts import services as contract_services
from utfall.platform.contracts.models import Contract, ContractStatus, Role
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council.demo import record_demo_meeting
from utfall.platform.fund.demo import load_fund_demo
from utfall.platform.imports import services as import_services
from utfall.platform.organisations import services as organisation_services
from utfall.platform.organisations.models import Organisation
from utfall.platform.permissions import can_import
from utfall.platform.tables import stored_row_counts

__all__ = ["DEMO_PASSWORD", "DemoLogin", "load_demo"]

DEMO_PASSWORD = "utfall-demo"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"
FINANCE_PLANS = EXAMPLES.parent / "finance"


@dataclass(frozen=True)
class Synthetic:
    """The ``utfall synth`` scenario of a contract, its size and seed, and its finance plan."""

    scenario: str
    size: int | None = None
    seed: int | None = None
    finance_plan: str | None = None


SYNTHETIC: dict[str, Synthetic] = {
    "norrkoping-placed-children": Synthetic(
        "norrkoping", finance_plan="norrkoping-plan-from-data.yaml"
    ),
    # Each sick-leave municipality gets its own synthetic workforce (another seed).
    "sick-leave-botkyrka": Synthetic("sick-leave", 300),
    "sick-leave-ornskoldsvik": Synthetic("sick-leave", 240, 2017),
    "hasselby-vallingby-early-support": Synthetic("early-support"),
    "region-stockholm-collective-impact": Synthetic("collective-impact"),
    "ips-employment-rate-card": Synthetic("ips"),
    "malmo-homeless-families": Synthetic("homeless-families"),
    "region-stockholm-diabetes-health-bond": Synthetic("diabetes"),
    # The fund's constellations starting in different years (portfolio_reports).
    "national-fund-portfolio": Synthetic("fund"),
}
"""Contract id → its synthetic data (a scenario ``utfall synth`` may not know yet is skipped)."""

ORGANISATIONS = {
    Role.COMMISSIONER: "Demokommunen (beställare)",
    Role.FINANCIER: "Demofinansiären (finansiär)",
    Role.PROVIDER: "Demoutföraren (utförare)",
    Role.INTERMEDIARY: "Demointermediären (intermediär)",
    Role.EVALUATOR: "Demoutvärderaren (utvärderare)",
}
# The financier is left out of one contract so a tester sees what it cannot see.
WITHOUT_FINANCIER = {"sick-leave-ornskoldsvik"}


@dataclass
class DemoLogin:
    """A demo account as printed for the tester."""

    username: str
    password: str
    role: str
    totp_secret: str | None


def _user(username: str, *, staff: bool = False) -> Any:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@demo.utfall.invalid"}
    )
    user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_superuser = staff
    user.save()
    return user


def _totp(user: Any) -> str:
    """Give the user TOTP (a fresh secret on first run) and return the secret."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from allauth.mfa.utils import decrypt

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        return decrypt(existing.data["secret"])
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _synthetic(plan: Synthetic, out: Path) -> Path | None:
    """Generate the scenario into ``out`` (every table also as CSV); None without it."""
    from utfall.synth import SCENARIOS, generate

    if plan.scenario not in SCENARIOS:
        return None
    options: dict[str, Any] = {"seed": plan.seed} if plan.seed is not None else {}
    generate(plan.scenario, out, size=plan.size, csv=True, **options)
    return out


def demo_import_tables(
    contract: Contract, folder: Path, users: dict[Role, Any], log: Any
) -> list[str]:
    """Import every declared table of the contract for which ``folder`` holds NAME.csv,
    the participants first, each by a user of a role the table declares; returns the
    tables imported. Raises DataInvalid (with every problem) for a file that does not
    import."""
    declaration = parsed_version(latest_version(contract)).data
    imported = []
    for table in declaration:
        path = folder / f"{table.name}.csv"
        if not path.is_file():
            continue
        role = next(
            (
                Role(r)
                for r in table.import_roles
                if Role(r) in users and can_import(users[Role(r)], contract, table)
            ),
            None,
        )
        if role is None:
            log(f"  no demo user may import {table.name} into {contract.identifier}")
            continue
        batch = import_services.import_file(
            contract=contract,
            table=table.name,
            name=path.name,
            content=path.read_bytes(),
            actor=users[role],
        )
        log(f"  imported {batch.rows_written:>6} rows of {table.name} into {contract.identifier}")
        imported.append(table.name)
    return imported


def load_demo(
    *,
    log: Any = print,
    with_data: bool = True,
    totp_code: Callable[[Any], str] | None = None,
) -> list[DemoLogin]:
    """Create (or refresh) the demo and return the logins to print. ``totp_code(user)``
    gives the evaluator's code for each sign-off (by default the authenticator's current
    one, waiting for the next period when the tolerated ones are spent)."""
    organisations = {}
    users = {}
    for role, name in ORGANISATIONS.items():
        organisation = Organisation.objects.filter(name=name).first()
        if organisation is None:
            organisation = organisation_services.organisation_create(name=name, actor=None)
        organisations[role] = organisation
        users[role] = _user(role.value)
        organisation_services.membership_add(
            user=users[role], organisation=organisation, actor=None
        )
    admin = _user("admin", staff=True)
    commissioner = users[Role.COMMISSIONER]
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        identifier = parse_contract(text, source=path.name).id
        contract = Contract.objects.filter(identifier=identifier).first()
        if contract is None:
            contract = contract_services.contract_create(
                text=text,
                organisation=organisations[Role.COMMISSIONER],
                actor=commissioner,
                file_name=path.name,
            )
            log(f"  loaded contract {identifier}")
        for role, organisation in organisations.items():
            if role == Role.COMMISSIONER or (
                role == Role.FINANCIER and identifier in WITHOUT_FINANCIER
            ):
                continue
            if contract.parties.filter(organisation=organisation, role=role).exists():
                continue
            # Parties join by invitation (decision 0601): the commissioner invites, a
            # member of the organisation accepts, the financier approves an evaluator.
            contract_services.contract_party_set(
                contract=contract,
                organisation=organisation,
                role=role,
                actor=commissioner,
                accepted_by=users[role],
                approved_by=[users[Role.FINANCIER]] if role == Role.EVALUATOR else [],
            )
        latest = contract.versions.order_by("-number").first()
        if contract.status == ContractStatus.DRAFT and latest and not latest.tests_failed:
            contract_services.contract_put_in_force(contract=contract, actor=commissioner)
    if with_data:
        _load_data(users, log)
    _settlement_demo(commissioner, users[Role.EVALUATOR], log)
    record_demo_meeting(log=log)
    logins = [
        DemoLogin(user.username, DEMO_PASSWORD, role.label, None) for role, user in users.items()
    ]
    for login in logins:
        if login.username == Role.EVALUATOR.value:
            login.totp_secret = _totp(users[Role.EVALUATOR])
    logins.append(DemoLogin("admin", DEMO_PASSWORD, gettext_lazy("Administrator"), _totp(admin)))
    logins.extend(load_fund_demo(log=log, with_data=with_data, totp_code=totp_code))
    return logins


def _settlement_demo(commissioner: Any, evaluator: Any, log: Any) -> None:
    """The contracts' finance plans and the evaluator's signing key (issue 8)."""
    from utfall.platform.settlements.keys import evaluator_key_ensure
    from utfall.platform.settlements.services import finance_plan_upload

    for identifier, plan in SYNTHETIC.items():
        contract = Contract.objects.filter(identifier=identifier).first()
        path = FINANCE_PLANS / plan.finance_plan if plan.finance_plan else None
        if contract is None or path is None or not path.exists():
            continue
        if not contract.finance_plans.exists():
            finance_plan_upload(
                contract=contract, actor=commissioner, text=path.read_text(encoding="utf-8")
            )
            log(f"  loaded the finance plan of {identifier}")
    evaluator_key_ensure(user=evaluator)


def _load_data(users: dict[Role, Any], log: Any) -> None:
    for contract in Contract.objects.order_by("identifier"):
        plan = SYNTHETIC.get(contract.identifier)
        if plan is None or any(stored_row_counts(contract).values()):
            continue
        with tempfile.TemporaryDirectory(prefix="utfall-demo-") as temporary:
            folder = _synthetic(plan, Path(temporary) / "synth")
            if folder is None:
                log(
                    f"  utfall synth has no scenario {plan.scenario!r}: no data for "
                    f"{contract.identifier}"
                )
                continue
            with transaction.atomic():
                demo_import_tables(contract, folder, users, log)
