"""Run a contract's embedded test cases ("given these outcomes, expect X")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from utfall.core.contracts.engine import Settlement, settle
from utfall.core.contracts.model import Contract, TestCase
from utfall.core.contracts.values import Term, coerce_value, format_value
from utfall.errors import UserError

__all__ = ["CaseResult", "run_contract_tests", "run_test_case"]


@dataclass(frozen=True)
class CaseResult:
    """Outcome of one test case: passed, or the mismatches / the error."""

    name: str
    passed: bool
    mismatches: tuple[str, ...] = ()
    error: str | None = None
    settlement: Settlement | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "mismatches": list(self.mismatches),
            "error": self.error,
        }


def _compare(
    expected: Mapping[str, Any], actual: Mapping[str, Any], terms: Mapping[str, Term], what: str
) -> list[str]:
    problems = []
    for name, raw in expected.items():
        term = terms[name]
        try:
            wanted = coerce_value(
                raw,
                Term(
                    name=name, type=term.type, of=term.of, length=term.length, choices=term.choices
                ),
            )
        except ValueError as error:
            problems.append(f"{what} {name}: the expected value is not valid: {error}")
            continue
        got = actual[name]
        if wanted != got:
            problems.append(
                f"{what} {name}: expected {format_value(wanted, term.type)}, got {format_value(got, term.type)}"
            )
    return problems


def run_test_case(contract: Contract, case: TestCase) -> CaseResult:
    """Settle one case and compare; errors count as failures with their message."""
    try:
        result = settle(contract, case.inputs, overrides=case.parameters)
    except UserError as error:
        detail = "; ".join(error.detail)
        return CaseResult(case.name, False, error=f"{error}{': ' + detail if detail else ''}")
    payment_terms = {p.id: Term(name=p.id, type="money") for p in result.payments}
    payment_values = {p.id: p.amount for p in result.payments}
    mismatches = _compare(case.expect_outputs, result.outputs, contract.outputs, "output")
    mismatches += _compare(case.expect_payments, payment_values, payment_terms, "payment")
    return CaseResult(case.name, not mismatches, tuple(mismatches), settlement=result)


def run_contract_tests(contract: Contract) -> list[CaseResult]:
    """Run every embedded test case of ``contract``."""
    return [run_test_case(contract, case) for case in contract.tests]
