"""Nothing under ``examples/`` is read by the platform at run time (the demo loader aside).

The contract text and the synthetic files are read before the watch starts; from then on
a Python audit hook records every file or folder under ``examples/`` that is opened or
listed while the platform imports, settles, signs, and serves its pages and API. The
test fails naming each one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from platform_helpers import csv_text, upload
from settlement_helpers import ROOT, make_final

EXAMPLES = (ROOT / "examples").resolve()
_WATCH: dict[str, list[str] | None] = {"seen": None}


def _hook(event: str, args: tuple, watch: dict = _WATCH, examples: Path = EXAMPLES) -> None:
    # Bound as defaults: the hook outlives the module's globals at interpreter exit.
    seen = watch["seen"]
    if seen is None or event not in ("open", "os.listdir", "os.scandir", "glob.glob"):
        return
    target = args[0] if args else None
    if isinstance(target, int) or target is None:
        return
    try:
        path = Path(os.fsdecode(target)).resolve()
    except (TypeError, ValueError, OSError):
        return
    if path == examples or examples in path.parents:
        seen.append(f"{event} {path}")


sys.addaudithook(_hook)


@pytest.mark.django_db
def test_the_platform_reads_nothing_under_examples(settled_world, client):
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.services import import_commit, import_upload, import_validate
    from utfall.platform.organisations.services import api_token_create
    from utfall.platform.settlements.services import finance_plan_upload

    world = settled_world
    plan = (ROOT / "examples" / "finance" / "norrkoping-plan.yaml").read_text(encoding="utf-8")
    identifier = world.contract.identifier
    _WATCH["seen"] = []
    try:
        finance_plan_upload(
            contract=world.contract, actor=world.users[Role.COMMISSIONER], text=plan
        )
        user = world.users[Role.COMMISSIONER]
        batch = import_upload(
            contract=world.contract,
            table="price_index",
            uploaded=upload("kpi.csv", csv_text(["month", "index"], [["2030-01", "150"]])),
            actor=user,
        )
        import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
        final = make_final(world)
        client.force_login(world.users[Role.EVALUATOR])
        pages = [
            f"/contracts/{identifier}/",
            f"/contracts/{identifier}/participants/",
            f"/contracts/{identifier}/imports/",
            f"/contracts/{identifier}/imports/{batch.pk}/",
            f"/contracts/{identifier}/tables/participants/template.xlsx",
            f"/contracts/{identifier}/settlements/",
            f"/contracts/{identifier}/settlements/{final.pk}/",
            f"/contracts/{identifier}/finance/",
            f"/contracts/{identifier}/council/",
        ]
        for url in pages:
            response = client.get(url)
            assert response.status_code in (200, 302), (url, response.status_code)
        _record, token = api_token_create(user=world.users[Role.PROVIDER], name="t")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        for url in (
            f"/api/contracts/{identifier}/tables",
            f"/api/contracts/{identifier}/participants",
            f"/api/contracts/{identifier}/council/dashboard",
        ):
            assert client.get(url, **headers).status_code == 200, url
        seen = list(_WATCH["seen"] or [])
    finally:
        _WATCH["seen"] = None
    assert seen == [], "the platform read files under examples/:\n" + "\n".join(seen)
