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

__all__ = [
    "ContractDocument",
    "ExpectationDocument",
    "InputDocument",
    "OutputDocument",
    "ParameterDocument",
    "PartyDocument",
    "PaymentDocument",
    "PeriodDocument",
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


class PartyDocument(_Strict):
    """A party to the contract and the role it takes."""

    id: str = Field(pattern=ID_PATTERN, description="Short id other parts refer to.")
    name: str = Field(min_length=1)
    role: Role
    organisation_number: str | None = Field(
        default=None, description="Swedish organisation number, e.g. 212000-0142."
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


class InputDocument(_Typed):
    """A measured outcome the settlement needs (from facts or an evaluation)."""

    evaluate: str | None = Field(
        default=None,
        description="Evaluation spec (path relative to the contract) giving the value.",
    )
    take: str | None = Field(
        default=None,
        description="Which figure of the evaluation result to take (default: estimate).",
    )
    at_least: Any = Field(
        default=None,
        description="For a boolean input: true when the figure taken is at least this value.",
    )

    @model_validator(mode="after")
    def _binding(self) -> InputDocument:
        if (self.take is not None or self.at_least is not None) and self.evaluate is None:
            raise ValueError("'take' and 'at_least' need 'evaluate'")
        if self.at_least is not None and self.type != "boolean":
            raise ValueError("'at_least' turns a figure into true/false: the input must be boolean")
        return self


class OutputDocument(_Strict):
    """A named formula computed from parameters, inputs and other outputs."""

    formula: str = Field(min_length=1)
    type: ValueType | None = Field(default=None, description="Declared type (money is checked).")
    of: ElementType | None = None
    unit: str | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"formula": value} if isinstance(value, str) else value


class PaymentDocument(_Strict):
    """Who pays whom how much (a formula of money)."""

    id: str = Field(pattern=NAME_PATTERN)
    payer: str = Field(alias="from", description="Party id of the payer.")
    payee: str = Field(alias="to", description="Party id of the payee.")
    label: str = Field(min_length=1)
    amount: str = Field(min_length=1, description="Formula of the amount in SEK.")
    description: str | None = None


class ExpectationDocument(_Strict):
    """What a test case expects."""

    outputs: dict[str, Any] = Field(default_factory=dict)
    payments: dict[str, Any] = Field(default_factory=dict)


class TestCaseDocument(_Strict):
    """Given these inputs (and parameter overrides), expect these results."""

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    expect: ExpectationDocument


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
    sources: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list, description="Choices the contract makes where its sources are silent."
    )
    parties: list[PartyDocument] = Field(min_length=1)
    periods: dict[str, PeriodDocument] = Field(default_factory=dict)
    parameters: dict[str, ParameterDocument] = Field(default_factory=dict)
    inputs: dict[str, InputDocument] = Field(default_factory=dict)
    outputs: dict[str, OutputDocument] = Field(default_factory=dict)
    payments: list[PaymentDocument] = Field(default_factory=list)
    tests: list[TestCaseDocument] = Field(default_factory=list)
