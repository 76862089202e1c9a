"""The council tests' contract with its data imported through the import services (the
files are :func:`council_helpers.council_files`)."""

from __future__ import annotations

import pytest
from council_helpers import AS_OF, council_files, import_files


@pytest.fixture
def council_world(world):
    from django.core.cache import cache

    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.council.selectors import _MEMO

    # Each test's database starts afresh: so do the dashboards computed from it.
    _MEMO.clear()
    cache.clear()
    contract = world.contract
    import_files(contract, world.users, council_files())
    # The evaluator needs two-factor set up before any page opens (password sign-in in the
    # browser test still works: the second step is asked for by allauth only at sign-in).
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    world.totp_secret = generate_totp_secret()
    TOTP.activate(world.users[Role.EVALUATOR], world.totp_secret)
    world.as_of = AS_OF
    world.document = parsed_version(latest_version(contract))
    return world
