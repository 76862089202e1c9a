"""The rows behind a rate card's figure on a statement: the participants it counted and the
events it did not, each with its reason, as CSV — pseudonyms only, for the parties that may
see individuals. Every shipped contract with a rate-card evaluation and a synthetic scenario
in the demo's table is covered; none is named here."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from settlement_helpers import ROOT, build_world, fast_text

EXAMPLES = ROOT / "examples" / "contracts"


def _rate_cards() -> list[Path]:
    from utfall.core.contracts import parse_contract
    from utfall.platform.demo import SYNTHETIC

    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        document = parse_contract(path.read_text(encoding="utf-8"), source=path.name)
        if document.id in SYNTHETIC and any(
            s.method == "rate_card" for s in document.evaluations.values()
        ):
            found.append(path)
    return found


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("path", _rate_cards(), ids=lambda p: p.stem)
def test_the_rows_behind_a_rate_card_add_up_to_its_figure(path, client):
    from django.utils import translation

    from utfall.core.contracts import parse_contract
    from utfall.core.evaluation.rate_card import REASON_LABELS
    from utfall.platform.contracts.models import Role
    from utfall.platform.demo import SYNTHETIC
    from utfall.platform.settlements.services import settlement_start

    text = fast_text(path)
    document = parse_contract(text, source=path.name)
    world = build_world(
        contract=path, text=text, scenario=SYNTHETIC[document.id].scenario, size=150
    )
    name = next(n for n, s in document.evaluations.items() if s.method == "rate_card")
    ends = [p.end for p in document.periods.values()]
    statement = settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        period_start=min(p.start for p in document.periods.values()),
        period_end=max(ends) if ends else dt.date.today(),
    )
    base = f"/contracts/{world.contract.identifier}/settlements/{statement.pk}"

    client.force_login(world.users[Role.COMMISSIONER])
    with translation.override("sv"):
        page = client.get(f"{base}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert 'data-testid="figure-rows"' in page
    counted = client.get(f"{base}/rows/{name}/counted.csv")
    uncounted = client.get(f"{base}/rows/{name}/uncounted.csv")
    assert counted.status_code == uncounted.status_code == 200
    paid = list(csv.reader(io.StringIO(counted.content.decode("utf-8-sig"))))
    refused = list(csv.reader(io.StringIO(uncounted.content.decode("utf-8-sig"))))
    assert paid[0][0] == "Pseudonym" and len(paid) > 1 and len(refused) > 1
    # The counted rows' payments add up to what the figure earned, to the öre.
    column = paid[0].index("Betalt (kr)")
    earned = sum(Decimal(row[column]) for row in paid[1:])
    detail = next(
        node
        for node in statement.result["explanation"].values()
        for node in _walk(node)
        if node.get("details", {}).get("evaluation") == name
    )
    assert earned == Decimal(detail["details"]["value_sek"])
    # Every event not counted has its reason, in Swedish; and no clear identity leaks.
    reasons = {row[refused[0].index("Orsak")] for row in refused[1:]}
    assert reasons <= {sv for sv, _en in REASON_LABELS.values()}
    assert all(len(row[0]) == 64 for row in paid[1:] + refused[1:])

    # The financier sees aggregates only: no rows.
    client.force_login(world.users[Role.FINANCIER])
    assert client.get(f"{base}/rows/{name}/counted.csv").status_code == 403
    assert 'data-testid="figure-rows"' not in client.get(f"{base}/").content.decode()


def _walk(node):
    yield node
    for child in node.get("children", []):
        yield from _walk(child)
