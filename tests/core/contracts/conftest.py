"""Shared fixtures for contract tests."""

from pathlib import Path

import pytest

from utfall.core.contracts import parse_contract

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def norrkoping():
    path = EXAMPLES / "contracts" / "norrkoping-placed-children.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))
