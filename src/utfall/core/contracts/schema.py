"""The contract document as it enters: pydantic models of the YAML.

This is the published schema (``utfall contract schema``,
``docs/contract.schema.json``). It checks shape only; meaning (formulas, names,
types of values, references between parts) is checked when the document is
compiled into a :class:`~utfall.core.contracts.model.Contract`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from utfall.core.evaluation.spec import SpecBody

__all__ = [
    "ColumnDocument",
    "ContractDocument",
    "CouncilDocument",
    "DataDocument",
    "EvaluationDocument",
    "ExpectationDocument",
    "FromContractDocument",
    "InputDocument",
    "LabelDocument",
    "OpenDataDocument",
    "OutputDocument",
    "ParameterDocument",
    "ParticipantsDocument",
    "PartyDocument",
    "PaymentDocument",
    "PeriodDocument",
    "SummaryDocument",
    "TableDocument",
    "TestCaseDocument",
    "ValueType",
]

ValueType = Literal["money", "count", "number", "ratio", "boolean", "choice", "series"]
ElementType = Literal["money", "count", "number", "ratio"]
Role = Literal[
    "commissioner", "financier", "provider", "intermediary", "evaluator", "fund_administrator"
]
Rounding = Literal["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


class LabelDocument(_Strict):
    """A text a person reads, in Swedish and English (a plain string serves both)."""

    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"sv": value, "en": value} if isinstance(value, str) else value


class SummaryDocument(_Strict):
    """A description in Swedish and English; without ``en``, the English is the part's
    ``description`` (a plain string serves both languages)."""

    sv: str = Field(min_length=1)
    en: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"sv": value, "en": value} if isinstance(value, str) else value


class PartyDocument(_Strict):
    """A party to the contract and the role it takes."""

    id: str = Field(pattern=ID_PATTERN, description="Short id other parts refer to.")
    name: str = Field(min_length=1)
    role: Role
    organisation_number: str | None = Field(
        default=None, description="Swedish organisation number, e.g. 212000-0142."
    )
    label: LabelDocument | None = Field(
        default=None, description="The party's name as pages show it, in Swedish and English."
    )


class PeriodDocument(_Strict):
    """A named span of time (contract period, follow-up, reference period …)."""

    start: date
    end: date
    description: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PeriodDocument:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Typed(_Strict):
    type: ValueType
    of: ElementType | None = Field(default=None, description="Element type of a series.")
    length: int | None = Field(default=None, ge=1, description="Number of values in a series.")
    choices: list[str] | None = Field(default=None, description="Allowed values of a choice.")
    min: Any = Field(default=None, description="Smallest allowed value (inclusive).")
    max: Any = Field(default=None, description="Largest allowed value (inclusive).")
    unit: str | None = None
    description: str | None = None
    source: str | None = Field(default=None, description="Where the term comes from.")
    label: LabelDocument | None = Field(
        default=None, description="The term's name as pages show it, in Swedish and English."
    )
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )

    @model_validator(mode="after")
    def _shape(self) -> _Typed:
        if self.type == "series":
            if self.length is None:
                raise ValueError("a series needs 'length'")
        elif self.of is not None or self.length is not None:
            raise ValueError("'of' and 'length' belong to a series only")
        if self.type == "choice":
            if not self.choices:
                raise ValueError("a choice needs 'choices'")
        elif self.choices is not None:
            raise ValueError("'choices' belong to a choice only")
        return self


class ParameterDocument(_Typed):
    """A contract term with a default value; any may be overridden for a what-if run."""

    default: Any = Field(description="Value used unless overridden.")


ColumnType = Literal[
    "date", "integer", "decimal", "money", "boolean", "choice", "text", "reference"
]
TableKind = Literal["records", "events", "measurements", "series"]
ImportRole = Literal["commissioner", "financier", "provider", "intermediary", "evaluator"]
Identity = Literal["personnummer", "reference"]


def _both_identities() -> list[Identity]:
    return ["personnummer", "reference"]


def _commissioner() -> list[ImportRole]:
    return ["commissioner"]


class ColumnDocument(_Strict):
    """A column of a declared table: its type, its labels and how a file may name it."""

    type: ColumnType
    label: LabelDocument
    description: str | None = None
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )
    unit: str | None = Field(default=None, description="Unit of the values, e.g. SEK or days.")
    required: bool = Field(default=True, description="Whether every row must have a value.")
    default: Any = Field(default=None, description="Value of an empty cell of an optional column.")
    synonyms: list[str] = Field(
        default_factory=list,
        description="Other names a file may give the column (for the automatic mapping).",
    )
    places: int | None = Field(
        default=None, ge=0, le=10, description="Decimals a decimal column may have (default 4)."
    )
    min: Any = Field(default=None, description="Smallest allowed value (inclusive).")
    max: Any = Field(default=None, description="Largest allowed value (inclusive).")
    choices: dict[str, LabelDocument] | None = Field(
        default=None,
        description="Allowed values of a choice, each with its label (a list of values "
        "uses each value as its own label).",
    )
    to: Literal["parties"] | None = Field(
        default=None, description="What a reference column refers to: a party of the contract."
    )
    role: Role | None = Field(
        default=None, description="For a reference to parties: the role the party must have."
    )
    renamed_from: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The column's name in the previous contract version (rows stored under "
        "the old name stay readable).",
    )

    @model_validator(mode="before")
    @classmethod
    def _choice_list(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("choices"), list):
            value = {**value, "choices": {str(c): str(c) for c in value["choices"]}}
        return value

    @model_validator(mode="after")
    def _shape(self) -> ColumnDocument:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice column needs 'choices'")
        if self.type != "choice" and self.choices is not None:
            raise ValueError("'choices' belong to a choice column only")
        if self.type == "reference" and self.to is None:
            raise ValueError("a reference column needs 'to' (what it refers to: parties)")
        if self.type != "reference" and (self.to is not None or self.role is not None):
            raise ValueError("'to' and 'role' belong to a reference column only")
        if self.places is not None and self.type != "decimal":
            raise ValueError("'places' belongs to a decimal column only (money has 2)")
        return self


class _TableBody(_Strict):
    """What every declared table has: its label, its columns and who imports it."""

    label: LabelDocument
    description: str | None = None
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )
    import_roles: list[ImportRole] = Field(
        default_factory=_commissioner,
        alias="import",
        description="Roles that may import this table.",
    )
    columns: dict[str, ColumnDocument] = Field(min_length=1)


class ParticipantsDocument(_TableBody):
    """The participants table: one row per person, identified by a pseudonym.

    A file identifies each person by a personal identity number (personnummer,
    pseudonymised at import and never stored) or by a reference code of the
    source system; the remaining columns are declared like any table's.
    """

    unit: LabelDocument = Field(description="What one participant is called, e.g. child.")
    identity: list[Identity] = Field(
        default_factory=_both_identities,
        min_length=1,
        description="How a file may identify a person (its pseudonym is derived from it).",
    )
    inclusion: str = Field(
        pattern=NAME_PATTERN, description="The date column of the person's inclusion."
    )
    end: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The date column of leaving (optional); a later file may add it.",
    )
    group: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The choice column telling the treated from the comparison group.",
    )
    treated: str | None = Field(
        default=None, description="The value of the group column that marks the treated."
    )
    subgroups: list[str] = Field(
        default_factory=list,
        description="Columns that split results into subgroups (council, knowledge export).",
    )


class TableDocument(_TableBody):
    """A declared table: per-participant records, events or measurements, or a series."""

    kind: TableKind = Field(
        description="records, events and measurements belong to a participant; "
        "a series is an aggregate (e.g. a price or trend index)."
    )
    date: str = Field(
        pattern=NAME_PATTERN,
        description="The date column that places a row in time (data 'as of' a day).",
    )
    key: list[str] = Field(
        default_factory=list,
        description="Columns that make a row unique (with the participant, for their tables).",
    )


class DataDocument(_Strict):
    """The data a contract is evaluated on: its participants and its other tables."""

    participants: ParticipantsDocument | None = None
    tables: dict[str, TableDocument] = Field(default_factory=dict)


class EvaluationDocument(SpecBody):
    """An evaluation of the contract's data; an input takes a figure of it (``evaluate``).

    ``table`` names a declared table; a participant's table is joined to the
    participants, which adds the columns ``participant``, ``treated``, ``post``,
    ``months_since_inclusion`` and ``month`` (and ``period``, ``period_month`` with
    ``periods``). The other keys are those of an evaluation spec (docs/evaluation.md);
    the method's options go under ``options``. An evaluation no input takes is
    followed (shown to the council and published), not paid on.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str = Field(pattern=NAME_PATTERN, description="The declared table evaluated.")
    label: LabelDocument | None = None
    description: str | None = None
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )


class FromContractDocument(_Strict):
    """Where a layered contract's input comes from: another contract's output or input.

    The value is taken from the upstream contract's settlement (its signed statement on
    the platform), which is settled first; the downstream settlement records the
    upstream settlement's SHA-256 (docs/contracts.md, layered contracts).
    """

    contract: str = Field(pattern=ID_PATTERN, description="The id of the upstream contract.")
    output: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="The upstream output taken."
    )
    input: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="Or the upstream input taken (e.g. one its evaluation decides).",
    )

    @model_validator(mode="after")
    def _one(self) -> FromContractDocument:
        if (self.output is None) == (self.input is None):
            raise ValueError("'from_contract' names exactly one of 'output' or 'input'")
        return self


class InputDocument(_Typed):
    """A measured outcome the settlement needs (from facts, an evaluation or another
    contract's settlement)."""

    evaluate: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The evaluation (a key of the contract's `evaluations`) giving the value.",
    )
    take: str | None = Field(
        default=None,
        description="Which figure of the evaluation result to take (default: estimate).",
    )
    at_least: Any = Field(
        default=None,
        description="For a boolean input: true when the figure taken is at least this value.",
    )
    from_contract: FromContractDocument | None = Field(
        default=None,
        description="Layered contracts: the value is another contract's output or input, "
        "taken from its settlement (settled first).",
    )

    @model_validator(mode="after")
    def _binding(self) -> InputDocument:
        if self.from_contract is not None and self.evaluate is not None:
            raise ValueError("an input comes from 'evaluate' or from 'from_contract', not both")
        if (self.take is not None or self.at_least is not None) and self.evaluate is None:
            raise ValueError("'take' and 'at_least' need 'evaluate'")
        if self.at_least is not None and self.type != "boolean":
            raise ValueError("'at_least' turns a figure into true/false: the input must be boolean")
        return self


class MultipleTestingDocument(_Strict):
    """Several boolean inputs each decided by a test, corrected as one family.

    Every input of ``family`` is boolean and bound to an evaluation with a p-value; it is
    true only when its own rule (``take``/``at_least``) holds *and* its p-value, adjusted
    over the family by ``method``, is at most ``alpha`` (docs/contracts.md, multiple
    testing).
    """

    method: Literal["holm", "benjamini_hochberg", "romano_wolf"] = Field(
        description="holm (controls the family-wise error rate), benjamini_hochberg "
        "(controls the false discovery rate) or romano_wolf (family-wise error rate from "
        "the family's evaluations bootstrapped jointly over participants)."
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="The adjusted p-value to reach.")
    family: list[str] = Field(
        min_length=2, description="The boolean inputs tested together (input names)."
    )
    reps: int = Field(
        default=999,
        ge=19,
        le=99_999,
        description="romano_wolf: the number of participant resamples.",
    )
    seed: int = Field(
        default=20160101,
        ge=0,
        description="romano_wolf: the seed of the resamples, so a settlement is reproducible.",
    )


class OutputDocument(_Strict):
    """A named formula computed from parameters, inputs and other outputs."""

    formula: str = Field(min_length=1)
    type: ValueType | None = Field(default=None, description="Declared type (money is checked).")
    of: ElementType | None = None
    unit: str | None = None
    description: str | None = None
    label: LabelDocument | None = Field(
        default=None, description="The output's name as pages show it, in Swedish and English."
    )
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"formula": value} if isinstance(value, str) else value


class PaymentDocument(_Strict):
    """Who pays whom how much (a formula of money)."""

    id: str = Field(pattern=NAME_PATTERN)
    payer: str = Field(alias="from", description="Party id of the payer.")
    payee: str = Field(alias="to", description="Party id of the payee.")
    label: LabelDocument = Field(
        description="What the payment is called, in Swedish and English (a string serves both)."
    )
    amount: str = Field(min_length=1, description="Formula of the amount in SEK.")
    description: str | None = None
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )


class ExpectationDocument(_Strict):
    """What a test case expects."""

    outputs: dict[str, Any] = Field(default_factory=dict)
    payments: dict[str, Any] = Field(default_factory=dict)


class TestCaseDocument(_Strict):
    """Given these inputs (and parameter overrides), expect these results."""

    name: str = Field(min_length=1)
    description: str | None = None
    label: LabelDocument | None = Field(
        default=None, description="The test's name as pages show it, in Swedish and English."
    )
    summary: SummaryDocument | None = Field(
        default=None,
        description="What the test shows, in a sentence, in Swedish and English.",
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    expect: ExpectationDocument


CouncilRole = Literal["commissioner", "financier", "provider", "intermediary", "evaluator"]
INDIVIDUAL_STATUS_ROLES: tuple[CouncilRole, ...] = (
    "commissioner",
    "financier",
    "provider",
    "intermediary",
    "evaluator",
)
"""Who sees the anonymised individual status without a declaration: every party role, the
financier included (the seeds' council, decision 0940)."""


class CouncilDocument(_Strict):
    """What the intervention council shows to whom."""

    individual_status: list[CouncilRole] = Field(
        default_factory=lambda: list(INDIVIDUAL_STATUS_ROLES),
        description="The party roles that see the status per included individual in the "
        "council (page, API, report, CSV): pseudonyms only, small cells suppressed as "
        "elsewhere. Roles not listed see aggregates on the reporting dates only. Without "
        "it: every party role, the financier included.",
    )


PolicySector = Literal[
    "Employment and training",
    "Child and family welfare",
    "Health",
    "Homelessness",
    "Education",
    "Criminal justice",
    "Agriculture and environment",
    "Poverty reduction",
]
"""INDIGO 4.1.0's policy sectors (project ``purpose_and_classifications.policy_sector``)."""


class OpenDataDocument(_Strict):
    """What the knowledge platform's open data (INDIGO 4.1.0, docs/knowledge.md) says of the
    project that the rest of the contract does not: who it is for, how many, and its
    finance figures as formulas over the parameters (decision 0970)."""

    policy_sector: PolicySector | None = Field(default=None, description="INDIGO's policy sector.")
    target_population: LabelDocument | None = Field(
        default=None, description="Who the service is for, in Swedish and English."
    )
    targeted_number: int | None = Field(
        default=None, ge=1, description="How many service users or beneficiaries are targeted."
    )
    unit_type: Literal["Individual", "Other"] = Field(
        default="Individual", description="INDIGO's unit type of the beneficiaries."
    )
    unit: LabelDocument | None = Field(
        default=None,
        description="What one beneficiary is when the unit type is Other (e.g. a family); "
        "without it, what one participant is called.",
    )
    investment_commitment: str | None = Field(
        default=None,
        min_length=1,
        description="Formula over the parameters: the investors' commitment (SEK).",
    )
    maximum_outcome_payment: str | None = Field(
        default=None,
        min_length=1,
        description="Formula over the parameters: the most the outcome payers can pay (SEK).",
    )
    maximum_loss_share: str | None = Field(
        default=None,
        min_length=1,
        description="Formula over the parameters: the share of the principal the investors "
        "can lose at worst (0–1).",
    )
    maximum_return_share: str | None = Field(
        default=None,
        min_length=1,
        description="Formula over the parameters: the investors' largest return over the "
        "whole contract term, as a share of the principal (0–1; not annual).",
    )
    priced_on: dict[str, str] = Field(
        default_factory=dict,
        description="Payment id → the input (outcome metric) it prices, where the first "
        "input its amount depends on is not the one (INDIGO outcome pricings).",
    )
    source: str | None = Field(default=None, description="Where these figures come from.")


class ContractDocument(_Strict):
    """An outcome contract."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    currency: Literal["SEK"] = "SEK"
    rounding: Rounding = Field(
        default="half_up", description="Rule of round() in formulas (default half-up)."
    )
    description: str | None = None
    label: LabelDocument | None = Field(
        default=None, description="The title as pages show it, in Swedish and English."
    )
    summary: SummaryDocument | None = Field(
        default=None, description="The description as pages show it, in Swedish and English."
    )
    cost_categories: dict[str, LabelDocument] = Field(
        default_factory=dict,
        description="Labels of the cost categories the contract's cost reports and finance "
        "plans use (category → label).",
    )
    sources: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list, description="Choices the contract makes where its sources are silent."
    )
    parties: list[PartyDocument] = Field(min_length=1)
    periods: dict[str, PeriodDocument] = Field(default_factory=dict)
    parameters: dict[str, ParameterDocument] = Field(default_factory=dict)
    data: DataDocument | None = Field(
        default=None, description="The tables the contract's data is imported into."
    )
    evaluations: dict[str, EvaluationDocument] = Field(
        default_factory=dict,
        description="Evaluations of the data; unbound ones are followed, not paid on.",
    )
    inputs: dict[str, InputDocument] = Field(default_factory=dict)
    multiple_testing: MultipleTestingDocument | None = Field(
        default=None,
        description="Boolean inputs decided by tests, adjusted for being tested together.",
    )
    outputs: dict[str, OutputDocument] = Field(default_factory=dict)
    payments: list[PaymentDocument] = Field(default_factory=list)
    tests: list[TestCaseDocument] = Field(default_factory=list)
    council: CouncilDocument = Field(
        default_factory=CouncilDocument,
        description="What the intervention council shows to whom (who sees individual status).",
    )
    open_data: OpenDataDocument | None = Field(
        default=None,
        description="What the open data (INDIGO) says of the project beyond the rest of the "
        "contract: target population, policy sector, finance figures.",
    )
