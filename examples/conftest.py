"""Collect the embedded test cases of every contract in examples/contracts as pytest items.

OpenFisca-style: a contract's ``tests:`` block is its own test suite, run by
``utfall contract test`` and, here, by pytest with everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utfall.core.contracts import parse_contract
from utfall.core.contracts.testing import run_test_case


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "contracts":
        return ContractFile.from_parent(parent, path=file_path)
    return None


class ContractFile(pytest.File):
    def collect(self):
        contract = parse_contract(self.path.read_text(encoding="utf-8"), source=str(self.path))
        for case in contract.tests:
            yield ContractCase.from_parent(self, name=case.name, contract=contract, case=case)


class ContractCase(pytest.Item):
    def __init__(self, *, contract, case, **kwargs):
        super().__init__(**kwargs)
        self.contract = contract
        self.case = case

    def runtest(self) -> None:
        result = run_test_case(self.contract, self.case)
        if not result.passed:
            problems = list(result.mismatches) + ([result.error] if result.error else [])
            raise AssertionError("\n".join(problems))

    def repr_failure(self, excinfo, style=None):
        return f"{self.contract.id}: {self.case.name}\n{excinfo.value}"

    def reportinfo(self):
        return self.path, None, f"{self.contract.id}: {self.case.name}"
