"""A Norrköping contract with synthetic data imported through the import services, once per
module (importing is the slow part); each test runs in its own transaction on top of it.

The contract is the shipped example with fewer bootstrap replicates, so a settlement takes
a second, not ten. The world itself is built by ``settlement_helpers``.
"""

from __future__ import annotations

import pytest
from settlement_helpers import build_world, clean_database, make_final


@pytest.fixture(scope="module")
def settled_world(django_db_setup, django_db_blocker):
    """The world with data, made once per module and removed afterwards."""
    with django_db_blocker.unblock():
        world = build_world()
    yield world
    with django_db_blocker.unblock():
        clean_database()


@pytest.fixture(scope="module")
def final_world(settled_world, django_db_blocker):
    """The world with one final (signed) statement: ``world.final``."""
    with django_db_blocker.unblock():
        settled_world.final = make_final(settled_world)
    return settled_world
