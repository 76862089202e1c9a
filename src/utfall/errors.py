"""The one exception tree of utfall.

Every error a user can cause derives from :class:`UserError`; the CLI turns it
into one red line and exit code 2, the web platform into
``{"message": ..., "detail": ...}`` JSON or a readable page.

Every error and every :class:`Finding` carries a stable ``code`` and its ``params``
(the values its message names), so that a page can say it in the reader's language
(``utfall.platform.messages``); the English message stays the text of the CLI, the
API and the logs.

::

    UtfallError
    ├── UserError                  bad input from a person or a file (CLI exit 2)
    │   ├── FindingsError          many located problems at once (``findings``)
    │   │   ├── ContractInvalid    a contract document that does not validate
    │   │   ├── FactsInvalid       facts that do not fit the contract's inputs
    │   │   └── DataInvalid        a data file or import with bad rows/columns
    │   ├── FormulaError           a formula that cannot be parsed or evaluated
    │   ├── SpecInvalid            an evaluation spec that cannot be run
    │   └── BundleUnreadable       a settlement bundle that cannot be read
    ├── EvaluationError            an estimator that cannot produce a number
    └── VerificationFailed         a recomputation or signature that does not match
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BundleUnreadable",
    "ContractInvalid",
    "DataInvalid",
    "EvaluationError",
    "FactsInvalid",
    "Finding",
    "FindingsError",
    "FormulaError",
    "SpecInvalid",
    "UserError",
    "UtfallError",
    "VerificationFailed",
]


def _text_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (params or {}).items()}


class UtfallError(Exception):
    """Root of every error utfall raises on purpose.

    ``code`` names the kind of problem (stable: pages translate by it, tests match
    on it); ``params`` are the values its message names, as text.
    """

    default_code = "error"

    def __init__(
        self, *args: Any, code: str | None = None, params: Mapping[str, Any] | None = None
    ):
        super().__init__(*args)
        self.code = code or type(self).default_code
        self.params = _text_params(params)

    @property
    def message(self) -> str:
        """The one-line message shown to a person."""
        return str(self)

    @property
    def detail(self) -> list[str]:
        """Further lines (one per problem) shown under the message."""
        return []


class UserError(UtfallError):
    """The input was wrong; the person can fix it (CLI exit code 2)."""

    default_code = "user-error"


@dataclass(frozen=True)
class Finding:
    """One located problem in a document or data file.

    ``code`` is stable (tests and tools may match on it); ``location`` names the
    place the way a person finds it: a file, a dotted field path, a row and a
    column, or a line.
    """

    code: str
    message: str
    file: str | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    row: int | None = None
    field_name: str | None = field(default=None)
    params: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def location(self) -> str:
        """Human-readable place, e.g. ``contract.yaml:12:5 outputs.x.formula``."""
        parts: list[str] = []
        head = self.file or ""
        if self.line is not None:
            head += f":{self.line}"
            if self.column is not None:
                head += f":{self.column}"
        if head:
            parts.append(head)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field_name is not None:
            parts.append(f"column {self.field_name!r}")
        if self.path:
            parts.append(self.path)
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (stable keys)."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "row": self.row,
            "field": self.field_name,
        }


class FindingsError(UserError):
    """Several located problems; ``findings`` lists every one of them."""

    def __init__(
        self,
        summary: str,
        findings: list[Finding],
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(summary, code=code, params=params)
        self.summary = summary
        self.findings = list(findings)

    @property
    def detail(self) -> list[str]:
        return [str(f) for f in self.findings]

    def __str__(self) -> str:
        return self.summary


class ContractInvalid(FindingsError):
    """A contract document that does not validate."""

    default_code = "contract-invalid"


class FactsInvalid(FindingsError):
    """Facts (evaluated outcomes) that do not fit the contract's inputs."""

    default_code = "facts-invalid"


class DataInvalid(FindingsError):
    """A data file or import with problems in named rows and columns."""

    default_code = "data-invalid"


class FormulaError(UserError):
    """A formula that cannot be parsed, type-checked or evaluated.

    Carries the formula text and the 1-based position of the problem so the
    message can point at it.
    """

    def __init__(
        self,
        message: str,
        *,
        formula: str | None = None,
        line: int | None = None,
        column: int | None = None,
        name: str | None = None,
        contract: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(message, code=code or "formula", params=params)
        self.reason = message
        self.formula = formula
        self.line = line
        self.column = column
        self.name = name
        self.contract = contract

    def with_context(self, *, name: str | None = None, contract: str | None = None) -> FormulaError:
        """A copy of this error that also names the output and the contract."""
        return FormulaError(
            self.reason,
            formula=self.formula,
            line=self.line,
            column=self.column,
            name=name or self.name,
            contract=contract or self.contract,
            code=self.code,
            params=self.params,
        )

    def __str__(self) -> str:
        where = []
        if self.contract:
            where.append(f"contract {self.contract!r}")
        if self.name:
            where.append(f"formula {self.name!r}")
        if self.line is not None and self.column is not None:
            where.append(f"line {self.line}, column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    @property
    def detail(self) -> list[str]:
        if not self.formula or self.line is None or self.column is None:
            return []
        lines = self.formula.splitlines() or [self.formula]
        text = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        return [f"  {text}", "  " + " " * (self.column - 1) + "^"]


class SpecInvalid(UserError):
    """An evaluation spec that names missing files/columns or bad options.

    ``path`` (the spec keys leading to the problem) and ``reason`` (the message
    without its location) are set where the spec is validated, so a contract can
    report the problem at its own line.
    """

    def __init__(
        self,
        message: str,
        *,
        path: tuple[str, ...] | None = None,
        reason: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(message, code=code or "spec-invalid", params=params)
        self.path = path
        self.reason = reason if reason is not None else message


class BundleUnreadable(UserError):
    """A settlement bundle that is not a readable bundle at all."""

    default_code = "bundle-unreadable"


class EvaluationError(UtfallError):
    """An estimator that cannot produce a number (e.g. too few clusters)."""

    default_code = "evaluation-failed"


class VerificationFailed(UtfallError):
    """Verification found a difference; ``differences`` says exactly where."""

    default_code = "verification-failed"

    def __init__(self, summary: str, differences: list[str]):
        super().__init__(summary)
        self.differences = list(differences)

    @property
    def detail(self) -> list[str]:
        return list(self.differences)
