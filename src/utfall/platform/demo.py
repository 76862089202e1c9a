"""Demo data: organisations, one user per role, the reference contracts, synthetic data.

Everything goes through the same services a person uses (contract upload, party
roles, imports with validation and commit), so the demo also exercises them.
Participants are synthetic and identified by references such as ``P-000001``;
no personal identity number, real or realistic, is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from utfall.core.contracts import parse_contract
from utfall.platform.contracts import services as contract_services
from utfall.platform.contracts.models import Contract, ContractStatus, Role
from utfall.platform.council.demo import record_demo_meeting
from utfall.platform.fund.demo import load_fund_demo
from utfall.platform.imports import services as import_services
from utfall.platform.imports.models import BatchStatus
from utfall.platform.organisations import services as organisation_services
from utfall.platform.organisations.models import Organisation

__all__ = ["DEMO_PASSWORD", "DemoLogin", "load_demo"]

DEMO_PASSWORD = "utfall-demo"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"

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


def _write_csv(folder: Path, name: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Path:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _import(contract: Contract, kind: str, path: Path, actor: Any, log: Any) -> None:
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    batch = import_services.import_upload(contract=contract, kind=kind, uploaded=upload,
                                          actor=actor)
    batch = import_services.import_validate(batch=batch, actor=actor, background=False)
    if batch.status != BatchStatus.VALID:
        raise RuntimeError(f"demo data {path.name} does not validate: {batch.findings[:3]}")
    batch = import_services.import_commit(batch=batch, actor=actor, background=False)
    log(f"  imported {batch.rows_written:>6} rows of {kind} into {contract.identifier}")


def _month(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _norrkoping_files(folder: Path, synth_dir: Path) -> dict[str, Path]:
    import pandas as pd

    children = pd.read_parquet(synth_dir / "children.parquet")
    costs = pd.read_parquet(synth_dir / "costs.parquet")
    school = pd.read_parquet(synth_dir / "school.parquet")
    dimensions = pd.read_parquet(synth_dir / "dimensions.parquet")
    inclusion = {row.child_id: _month(row.inclusion_month) for row in children.itertuples()}
    files = {
        "participants": _write_csv(
            folder, "participants.csv", ["reference", "included_on", "group", "cohort"],
            ((r.child_id, inclusion[r.child_id], "treatment" if r.included else "comparison",
              r.age_band) for r in children.itertuples()),
        ),
        "placement_days": _write_csv(
            folder, "placement_days.csv", ["reference", "month", "placement_days"],
            ((r.child_id, _month(r.month), r.placement_days)
             for r in costs.itertuples() if r.placement_days),
        ),
        "cost_records": _write_csv(
            folder, "cost_records.csv", ["reference", "date", "category", "amount"],
            (row for r in costs.itertuples() for row in (
                (r.child_id, _month(r.month), "placement", f"{r.placement_cost_sek:.2f}"),
                (r.child_id, _month(r.month), "outpatient", f"{r.outpatient_cost_sek:.2f}"),
            ) if Decimal(row[3])),
        ),
        "school_results": _write_csv(
            folder, "school_results.csv", ["reference", "date", "subject", "score"],
            (row for r in school.itertuples() for row in (
                (r.child_id, _add_months(inclusion[r.child_id], 24 * r.post), "merit_points",
                 r.merit_points),
                (r.child_id, _add_months(inclusion[r.child_id], 24 * r.post), "passed_subjects",
                 r.passed_subjects),
            )),
        ),
        "social_scores": _write_csv(
            folder, "social_scores.csv", ["reference", "date", "dimension", "point", "score"],
            ((r.child_id, _add_months(inclusion[r.child_id], r.month_since_inclusion),
              r.dimension, r.wave, r.score) for r in dimensions.itertuples()),
        ),
    }
    # Quarterly cost reports in the contract's cost structure (seed 000 p. 10).
    shares = {"evaluation": "0.02", "intermediary": "0.14", "tutoring": "0.24",
              "overhead": "0.12", "salaries": "0.48"}
    quarters = [_add_months(dt.date(2016, 3, 1), 3 * q) for q in range(18)]
    quarterly = Decimal("10000000") / len(quarters)
    files["cost_reports"] = _write_csv(
        folder, "cost_reports.csv", ["period_end", "category", "amount"],
        ((quarter, category, (quarterly * Decimal(share)).quantize(Decimal("0.01")))
         for quarter in quarters for category, share in shares.items()),
    )
    # The price index the cost evaluation re-prices the historical reference with.
    prices = pd.read_parquet(synth_dir / "price_index.parquet")
    files["price_index"] = _write_csv(
        folder, "price_index.csv", ["month", "index"],
        ((_month(r.month), f"{r.index:.4f}") for r in prices.itertuples()),
    )
    return files


def _sick_leave_files(folder: Path, synth_dir: Path) -> dict[str, Path]:
    import pandas as pd

    months = pd.read_parquet(synth_dir / "employee_months.parquet")
    index = pd.read_parquet(synth_dir / "slt_index.parquet")
    month_of = {(r.period, r.month_index): _month(r.month) for r in index.itertuples()}
    employees = sorted(set(months["employee"].tolist()))
    # The synthetic employees are employed throughout: counted from the reference period's
    # first month (a month's head count is the employees included by then, decision 0302).
    start = month_of[("reference", 1)]
    return {
        "participants": _write_csv(
            folder, "employees.csv", ["reference", "included_on", "group"],
            ((f"E-{e:05d}", start, "treatment") for e in employees),
        ),
        "sick_leave_days": _write_csv(
            folder, "sick_leave_days.csv", ["reference", "month", "sick_days", "unit"],
            ((f"E-{r.employee:05d}", month_of[(r.period, r.month_index)], r.sick_days,
              r.administration) for r in months.itertuples() if r.sick_days),
        ),
        # The national trend index the expected days are adjusted with, per calendar month.
        "sick_leave_trend_index": _write_csv(
            folder, "sick_leave_trend_index.csv", ["month", "slt"],
            ((_month(r.month), f"{r.slt:.4f}") for r in index.itertuples()),
        ),
    }


def _synthetic(scenario: str, out: Path, size: int | None, seed: int | None) -> Path | None:
    try:
        from utfall.synth import generate
    except ImportError:
        return None
    generate(scenario, out, size=size, **({"seed": seed} if seed is not None else {}))
    return out


def load_demo(*, log: Any = print, with_data: bool = True) -> list[DemoLogin]:
    """Create (or refresh) the demo and return the logins to print."""
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
                text=text, organisation=organisations[Role.COMMISSIONER], actor=commissioner,
                file_name=path.name,
            )
            log(f"  loaded contract {identifier}")
        for role, organisation in organisations.items():
            if role == Role.COMMISSIONER or (
                role == Role.FINANCIER and identifier in WITHOUT_FINANCIER
            ):
                continue
            contract_services.contract_party_set(
                contract=contract, organisation=organisation, role=role, actor=commissioner
            )
        latest = contract.versions.order_by("-number").first()
        if contract.status == ContractStatus.DRAFT and latest and not latest.tests_failed:
            contract_services.contract_put_in_force(contract=contract, actor=commissioner)
    if with_data:
        _load_data(commissioner, users[Role.PROVIDER], log)
    _settlement_demo(commissioner, users[Role.EVALUATOR], log)
    record_demo_meeting(log=log)
    logins = [
        DemoLogin(user.username, DEMO_PASSWORD, role.label, None) for role, user in users.items()
    ]
    for login in logins:
        if login.username == Role.EVALUATOR.value:
            login.totp_secret = _totp(users[Role.EVALUATOR])
    logins.append(DemoLogin("admin", DEMO_PASSWORD, "Administrator", _totp(admin)))
    logins.extend(load_fund_demo(log=log, with_data=with_data))
    return logins


def _settlement_demo(commissioner: Any, evaluator: Any, log: Any) -> None:
    """The Norrköping finance plan and the evaluator's signing key (issue 8)."""
    from utfall.platform.settlements.keys import evaluator_key_ensure
    from utfall.platform.settlements.services import finance_plan_upload

    contract = Contract.objects.filter(identifier="norrkoping-placed-children").first()
    plan = EXAMPLES.parent / "finance" / "norrkoping-plan.yaml"
    if contract is not None and plan.exists() and not contract.finance_plans.exists():
        finance_plan_upload(contract=contract, actor=commissioner,
                            text=plan.read_text(encoding="utf-8"))
        log("  loaded the finance plan of norrkoping-placed-children")
    evaluator_key_ensure(user=evaluator)


def _load_data(commissioner: Any, provider: Any, log: Any) -> None:
    # (contract, scenario, size, seed, files); each sick-leave municipality gets its own
    # synthetic workforce (another seed).
    plans = [
        ("norrkoping-placed-children", "norrkoping", None, None, _norrkoping_files),
        ("sick-leave-botkyrka", "sick-leave", 300, None, _sick_leave_files),
        ("sick-leave-ornskoldsvik", "sick-leave", 240, 2017, _sick_leave_files),
    ]
    for identifier, scenario, size, seed, build in plans:
        contract = Contract.objects.filter(identifier=identifier).first()
        if contract is None or contract.participants.exists():
            continue
        with tempfile.TemporaryDirectory(prefix="utfall-demo-") as temporary:
            folder = Path(temporary)
            synth_dir = _synthetic(scenario, folder / "synth", size, seed)
            if synth_dir is None:
                log(f"  utfall.synth is not available: no data for {identifier}")
                continue
            files = build(folder, synth_dir)
            with transaction.atomic():
                for kind, path in files.items():
                    actor = provider if kind == "social_scores" else commissioner
                    _import(contract, kind, path, actor, log)
