"""A Norrköping contract with synthetic data imported through the import services, once per
module (importing is the slow part); each test runs in its own transaction on top of it.

The evaluation specs are the ones in ``examples/evaluations`` with fewer bootstrap
replicates, so a settlement takes a second, not ten. The world itself is built by
``settlement_helpers``.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from django.test import override_settings
from settlement_helpers import ROOT, build_world, clean_database, make_final


@pytest.fixture(scope="session")
def specs_dir():
    directory = Path(tempfile.mkdtemp(prefix="utfall-specs-"))
    for spec in (ROOT / "examples" / "evaluations").glob("*.yaml"):
        text = re.sub(r"reps: \d+", "reps: 49", spec.read_text(encoding="utf-8"))
        (directory / spec.name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(autouse=True)
def _fast_specs(specs_dir):
    with override_settings(UTFALL_EVALUATION_SPECS_DIR=str(specs_dir)):
        yield


@pytest.fixture(scope="module")
def settled_world(django_db_setup, django_db_blocker):
    """The world with data, made once per module and removed afterwards."""
    with django_db_blocker.unblock():
        world = build_world()
    yield world
    with django_db_blocker.unblock():
        clean_database()


@pytest.fixture(scope="module")
def final_world(settled_world, django_db_blocker, specs_dir):
    """The world with one final (signed) statement: ``world.final``."""
    with django_db_blocker.unblock(), override_settings(UTFALL_EVALUATION_SPECS_DIR=str(specs_dir)):
        settled_world.final = make_final(settled_world)
    return settled_world
