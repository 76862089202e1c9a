"""Generic code never names a particular contract: what differs is declared in the contract.

The services and the platform are generic over the contract document. Neither may
name a shipped contract's id or one of its input names (the demo loaders, which load
the reference contracts on purpose, excepted), and neither may read anything under
``examples/`` (checked at run time in the platform's own tests).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from utfall.core.contracts import parse_contract

ROOT = Path(__file__).resolve().parents[1]
GENERIC = [ROOT / "src" / "utfall" / "services", ROOT / "src" / "utfall" / "platform"]
DEMO_LOADERS = {"demo.py"}  # platform/demo.py and each app's demo.py load the examples


def _contracts():
    for path in sorted((ROOT / "examples" / "contracts").glob("*.yaml")):
        yield parse_contract(path.read_text(encoding="utf-8"), source=path.name)


def _method_vocabulary() -> str:
    """The estimators' own code: a figure an estimator names (``monthly.slt_reference``) is
    the method's vocabulary, which a contract's input may take and share the name of."""
    folder = ROOT / "src" / "utfall" / "core" / "evaluation"
    return "\n".join(path.read_text(encoding="utf-8") for path in folder.glob("*.py"))


def _names() -> dict[str, str]:
    """Name → the contract it belongs to: ids and input names. Short generic words (no
    ``_``, such as ``employees``) and the estimators' own figure names are left out."""
    vocabulary = _method_vocabulary()
    names: dict[str, str] = {}
    for contract in _contracts():
        names[contract.id] = contract.id
        for name in contract.inputs:
            if "_" in name and not re.search(rf"[\"']{re.escape(name)}[\"']", vocabulary):
                names[name] = contract.id
    return names


def _sources() -> list[Path]:
    files = []
    for folder in GENERIC:
        for path in folder.rglob("*"):
            if path.suffix not in {".py", ".html", ".txt", ".js"}:
                continue
            if path.name in DEMO_LOADERS or "migrations" in path.parts:
                continue
            files.append(path)
    return files


@pytest.mark.parametrize("name", sorted(_names()))
def test_generic_code_does_not_name_a_reference_contract(name):
    pattern = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found, f"{name!r} (of {_names()[name]}) is named in generic code: {found[:10]}"


def test_generic_code_does_not_read_the_examples():
    found = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if path.suffix == ".py"
        and re.search(r"[\"'/]examples/|/\s*[\"']examples[\"']", path.read_text("utf-8"))
    ]
    assert not found, f"generic code refers to examples/: {found}"
