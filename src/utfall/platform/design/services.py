"""Writes of the design stage: registering an evaluation's spec and design figures.

The registration is one ``pre_registration`` ledger entry (decision 0718) holding the
contract version's SHA-256, every evaluation's spec and its SHA-256, and the design
figures registered so far; it is refused once any data has been imported for the
contract, so it always precedes the outcome data. Only the commissioner registers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from utfall.core.contracts import Contract as CoreContract
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.design import Design, DesignSpec, design_spec_validate, power_curve_chart
from utfall.core.ledger import KIND_IMPORT, KIND_PRE_REGISTRATION
from utfall.core.ledger.canonical import canonical_sha256
from utfall.errors import SpecInvalid, UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts.models import Contract, ContractVersion, Role
from utfall.platform.design.selectors import registration_latest
from utfall.platform.permissions import roles_of
from utfall.platform.settlements.ledger import ledger_append
from utfall.platform.settlements.models import LedgerRecord
from utfall.services.design import contract_registration, design_check_evaluation, design_run

__all__ = ["can_register", "design_parse", "design_preview", "design_register"]

MAX_DESIGN_CHARACTERS = 5_000


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


def _design_of(
    contract: Contract, evaluation: str, text: str
) -> tuple[ContractVersion, CoreContract, DesignSpec, Design]:
    """The latest version, its parsed contract, and the spec and figures of ``evaluation``
    for ``text``."""
    version = contract_selectors.latest_version(contract)
    if version is None:
        raise UserError("the contract has no version yet")
    parsed = contract_selectors.parsed_version(version)
    spec = design_parse(text, source=f"design of {evaluation}")
    design_check_evaluation(parsed, evaluation, spec)
    return version, parsed, spec, design_run(spec)


def design_preview(
    *, contract: Contract, evaluation: str, text: str
) -> tuple[DesignSpec, Design, dict[str, Any]]:
    """The design figures and the power-curve chart of ``evaluation`` for ``text``."""
    _version, _parsed, spec, figures = _design_of(contract, evaluation, text)
    chart = power_curve_chart(figures) if figures.curve else {}
    return spec, figures, chart


@transaction.atomic
def design_register(
    *, contract: Contract, evaluation: str, text: str, actor: AbstractBaseUser
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
