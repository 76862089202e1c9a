"""Writes of the design stage: registering an evaluation's spec and design figures.

The registration is one ``pre_registration`` ledger entry (decision 0718) holding the
contract version's SHA-256, every evaluation's spec and its SHA-256, and the design
figures registered so far; it is refused once any data has been imported for the
contract, so it always precedes the outcome data. Only the commissioner registers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from utfall.core.contracts import Contract as CoreContract
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.design import (
    DATA_METHODS,
    SIMULATED_METHODS,
    Design,
    DesignSpec,
    PaymentRisk,
    design_spec_validate,
    power_curve_chart,
)
from utfall.core.ledger import KIND_IMPORT, KIND_PRE_REGISTRATION
from utfall.core.ledger.canonical import canonical_sha256
from utfall.errors import SpecInvalid, UserError, UtfallError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts.models import Contract, ContractVersion, Role
from utfall.platform.design.selectors import registration_latest
from utfall.platform.permissions import roles_of
from utfall.platform.settlements.ledger import ledger_append
from utfall.platform.settlements.models import LedgerRecord
from utfall.services.design import (
    contract_payment_risk,
    contract_registration,
    design_check_evaluation,
    design_run,
)

__all__ = [
    "can_register",
    "design_from_form",
    "design_parse",
    "design_payment_risk",
    "design_preview",
    "design_register",
    "stored_defaults",
]

MAX_DESIGN_CHARACTERS = 5_000
PAYMENT_RISK_REPS = 100
PAYMENT_RISK_SEED = 20160101
PAYMENT_RISK_DATA_REPS = 40
"""Draws per true effect for the historical reference and the trend-adjusted saving, whose
evaluation reads whole monthly panels (a bootstrap each): fewer, so the page answers."""


def can_register(user: Any, contract: Contract) -> bool:
    """The commissioner registers the design of its contract."""
    return Role.COMMISSIONER in roles_of(user, contract)


def design_parse(text: str, *, source: str = "design") -> DesignSpec:
    """A design spec typed into the page (YAML); the platform holds no data file, so the
    variance is given as ``sd`` (SpecInvalid names the key)."""
    if len(text) > MAX_DESIGN_CHARACTERS:
        raise SpecInvalid(f"{source}: at most {MAX_DESIGN_CHARACTERS:,} characters")
    try:
        document = read_yaml(text, source=source, what="the design")
    except ValueError as error:
        raise SpecInvalid(str(error.args[0])) from None
    raw = document.data
    if not isinstance(raw, dict):
        raise SpecInvalid(f"{source}: the design is a mapping of keys (method, alpha, …)")
    if raw.get("data") is not None:
        raise SpecInvalid(f"{source}: data: give the variance as sd here (the CLI reads files)")

    def locate(key: tuple[str, ...]) -> str:
        line, _ = document.position(key[:1]) if key else (None, None)
        return f"{source}:{line}" if line else source

    return design_spec_validate(raw, source=source, locate=locate)


def design_from_form(raw: Mapping[str, Any], *, source: str = "design") -> DesignSpec:
    """A design spec from the page's form (a mapping of keys; SpecInvalid names the key)."""
    if raw.get("data") is not None:
        raise SpecInvalid(f"{source}: data: give the variance as sd here (the CLI reads files)")
    return design_spec_validate(dict(raw), source=source)


def _design_of(
    contract: Contract, evaluation: str, text: str | Mapping[str, Any]
) -> tuple[ContractVersion, CoreContract, DesignSpec, Design]:
    """The latest version, its parsed contract, and the spec and figures of ``evaluation``
    for ``text`` (YAML) or the form's mapping."""
    version = contract_selectors.latest_version(contract)
    if version is None:
        raise UserError("the contract has no version yet")
    parsed = contract_selectors.parsed_version(version)
    source = f"design of {evaluation}"
    spec = (
        design_parse(text, source=source)
        if isinstance(text, str)
        else design_from_form(text, source=source)
    )
    design_check_evaluation(parsed, evaluation, spec)
    return version, parsed, spec, design_run(spec)


def design_preview(
    *, contract: Contract, evaluation: str, text: str | Mapping[str, Any]
) -> tuple[DesignSpec, Design, dict[str, Any]]:
    """The design figures and the power-curve chart of ``evaluation`` for ``text``."""
    _version, _parsed, spec, figures = _design_of(contract, evaluation, text)
    chart = power_curve_chart(figures) if figures.curve else {}
    return spec, figures, chart


def design_payment_risk(
    *, contract: Contract, evaluation: str, text: str | Mapping[str, Any]
) -> PaymentRisk | None:
    """The payment risk of ``evaluation`` under the design (None when the design's method
    is not simulated, or no input is paid from the evaluation): the evaluation simulated
    ``PAYMENT_RISK_REPS`` times per true effect with a fixed seed, so the page shows the
    same figures each time."""
    _version, parsed, spec, figures = _design_of(contract, evaluation, text)
    if spec.method not in SIMULATED_METHODS or figures.n_per_group is None:
        return None
    if not any(term.evaluate == evaluation for term in parsed.inputs.values()):
        return None
    reps = PAYMENT_RISK_DATA_REPS if spec.method in DATA_METHODS else PAYMENT_RISK_REPS
    _figures, risk = contract_payment_risk(
        parsed, evaluation, spec, reps=reps, seed=spec.seed or PAYMENT_RISK_SEED
    )
    return risk


def stored_defaults(*, contract: Contract, evaluation: str) -> dict[str, Any]:
    """Design assumptions read from the contract's stored data for a historical reference
    or a trend-adjusted evaluation (empty when there is no data yet or it cannot be read).

    ``historical_reference``: the reference cohort's SD of an individual's total over the
    months evaluated (``sd``), its size (``n_reference``), its mean cost per individual and
    month (``reference_mean``) and the included individuals (``n_per_group``); the effect to
    start from is half the SD.
    ``trend_adjusted``: the SD of an employee's monthly days in the reference period
    (``sd``), their mean (``reference_mean``), the share of that variance between employees
    (``autocorrelation``) and the employees (``n_per_group``); the effect to start from is a
    tenth of the SD a month."""
    import numpy as np

    from utfall.platform.tables import StoredTables
    from utfall.services.frames import evaluation_frame

    version = contract_selectors.latest_version(contract)
    if version is None:
        return {}
    parsed = contract_selectors.parsed_version(version)
    spec = parsed.evaluations.get(evaluation)
    if spec is None or spec.method not in ("historical_reference", "trend_adjusted"):
        return {}
    try:
        arrow = evaluation_frame(spec, StoredTables(contract), parsed.data, parsed.periods)
        frame = arrow.to_pandas()
    except (UtfallError, KeyError, ValueError):
        return {}
    outcome, unit, time = spec.outcome, spec.unit, spec.time
    if not outcome or not unit or outcome not in frame or unit not in frame or frame.empty:
        return {}
    if spec.method == "historical_reference":
        flag = frame.get(spec.treatment or "treated")
        if flag is None:
            return {}
        treated_value = spec.options.get("treated_value", "included")
        included = flag == treated_value if flag.dtype == object else flag == 1
        horizon = spec.options.get("horizon")
        if isinstance(horizon, int) and time in frame:
            frame = frame[frame[time] <= horizon]
            included = included.loc[frame.index]
        reference = frame[~included]
        totals = reference.groupby(unit)[outcome].sum()
        cells = reference.groupby([unit, time])[outcome].sum() if time in frame else totals
        if len(totals) < 2:
            return {}
        sd = float(totals.std(ddof=1))
        return {
            "sd": sd,
            "effect": round(sd / 2, 2),
            "n_reference": len(totals),
            "reference_mean": float(cells.mean()),
            "n_per_group": max(2, int(frame[included][unit].nunique())),
        }
    period = spec.post or "period"
    contract_value = spec.options.get("contract_value", "contract")
    if period not in frame or time not in frame:
        return {}
    reference = frame[frame[period] != contract_value]
    cells = reference.groupby([unit, time])[outcome].sum()
    if len(cells) < 3:
        return {}
    means = cells.groupby(level=0).mean()
    total = float(cells.var(ddof=1))
    between = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    share = min(max(between / total, 0.0), 0.95) if total > 0 else 0.0
    return {
        "sd": float(np.sqrt(total)),
        "effect": round(float(np.sqrt(total)) / 10, 4),
        "reference_mean": float(cells.mean()),
        "autocorrelation": round(share, 2),
        "n_per_group": max(2, int(frame[unit].nunique())),
    }


@transaction.atomic
def design_register(
    *,
    contract: Contract,
    evaluation: str,
    text: str | Mapping[str, Any],
    actor: AbstractBaseUser,
) -> LedgerRecord:
    """Register the latest version's evaluation specs with the design of ``evaluation``:
    a ``pre_registration`` ledger entry (earlier registered designs of the same version
    are carried over). Refused for anyone but the commissioner and once data was imported."""
    if not can_register(actor, contract):
        raise PermissionDenied
    if LedgerRecord.objects.filter(
        contract_identifier=contract.identifier, kind=KIND_IMPORT
    ).exists():
        raise UserError(
            "data has been imported for this contract already: a pre-registration must come "
            "before the outcome data (register a new contract's design before its first import)"
        )
    version, parsed, spec, figures = _design_of(contract, evaluation, text)
    designs: dict[str, Any] = {}
    specs: dict[str, Any] = {}
    previous = registration_latest(contract=contract)
    if previous is not None:
        earlier = previous.attributes.get("registration") or {}
        if earlier.get("contract_sha256") == parsed.sha256:
            for name, entry in (earlier.get("evaluations") or {}).items():
                if entry.get("design"):
                    designs[name] = entry["design"]
            specs.update(previous.attributes.get("design_specs") or {})
    designs[evaluation] = figures.as_dict()
    specs[evaluation] = spec.model_dump(mode="json", exclude={"source"})
    record = contract_registration(parsed, designs)
    entry = ledger_append(
        kind=KIND_PRE_REGISTRATION,
        subject=f"pre-registration {contract.identifier} v{version.number}",
        data_sha256=canonical_sha256(record),
        actor=actor,
        contract_identifier=contract.identifier,
        attributes={
            "contract": contract.identifier,
            "version": version.number,
            "registration": record,
            "design_specs": specs,
        },
    )
    audit_record(
        actor=actor,
        action="design.registered",
        contract=contract,
        version=version.number,
        evaluation=evaluation,
        sha256=entry.data_sha256,
    )
    return entry
