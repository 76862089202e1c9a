"""The design page's form (issue 16): a method chosen by its label, numbers typed the
Swedish way, defaults from the contract's bound evaluation, no identifiers shown, and the
payment risk of the evaluation as a table and a chart with figures formatted for the
language."""

from __future__ import annotations

import json
import re

import pytest
from settlement_helpers import build_world

from utfall.platform.contracts.models import Role

pytestmark = pytest.mark.django_db

FORM = {
    "evaluation": "school",
    "method": "did",
    "alpha": "0,05",
    "power": "0,80",
    "effect_kind": "units",
    "effect": "20",
    "sd": "40",
    "cluster_size": "1",
    "icc": "0",
    "autocorrelation": "0,5",
}


@pytest.fixture
def page(client):
    world = build_world(with_data=False)
    client.force_login(world.users[Role.COMMISSIONER])
    return client, f"/contracts/{world.contract.identifier}/design/", world


def test_the_form_starts_from_the_bound_evaluation_and_shows_labels(page):
    client, url, _world = page
    html = client.get(url).content.decode()
    # The first choice is an evaluation that pays (bound to an input), shown by its label.
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', html)
    evaluations = [o for o in options if o[0] in ("costs", "school", "school_change")]
    assert evaluations[0][0] == "costs"
    assert ("school", "Skolresultat mot referensgruppen") in evaluations
    assert "Skillnad i skillnader" in html  # the method select, translated
    assert "Jämförelse med den historiska referensen" in html
    # Defaults from the chosen evaluation: its method, alpha from its interval's level.
    school = client.get(url, {"evaluation": "school"}).content.decode()
    assert re.search(r'<option value="did" selected>', school)
    assert 'name="alpha" value="0,05"' in school
    # No identifiers in the page's text: no method or evaluation key shown as such.
    visible = re.sub(r"<[^>]+>", " ", school)
    for identifier in ("difference_in_means", "historical_reference", "school_change"):
        assert identifier not in visible


def test_swedish_numbers_compute_the_design(page):
    client, url, _world = page
    shown = client.post(url, {**FORM, "action": "preview"}).content.decode()
    assert 'data-testid="n-per-group">64<' in shown  # Cohen: d = 0.5 → 64 per group
    assert 'data-testid="power-curve"' in shown
    assert re.search(r'data-testid="power">8\d,\d\xa0%<', shown), "power as a Swedish percent"
    # The same with the standardised effect and the dot form.
    standardised = {**FORM, "effect_kind": "standardised", "effect_size": "0.5", "alpha": "0.05"}
    shown = client.post(url, {**standardised, "action": "preview"}).content.decode()
    assert 'data-testid="n-per-group">64<' in shown


def test_a_bad_number_and_a_mismatch_are_reported(page):
    client, url, _world = page
    bad = client.post(url, {**FORM, "alpha": "fem procent"}).content.decode()
    assert 'data-testid="error-alpha"' in bad
    mismatch = client.post(url, {**FORM, "method": "proportions", "effect_kind": "standardised",
                                 "effect_size": "0,3"}).content.decode()  # fmt: skip
    assert "plan it as did" in mismatch


def test_payment_risk_table_and_chart(page):
    client, url, _world = page
    form = {**FORM, "n_per_group": "30"}
    shown = client.post(url, {**form, "action": "risk"}).content.decode()
    assert 'data-testid="payment-risk"' in shown
    table = shown.split('data-testid="risk-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    # Four true effects (0, half, the design's, one and a half) × the contract's payments.
    assert len(rows) == 8
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in rows]
    payments = {c[1] for c in cells}
    assert payments == {"Återbetalning (garanti och besparingsdel)", "Premie"}
    for cell in cells:
        assert re.fullmatch(r"\d{1,3}(,\d)?\xa0%", cell[2]), cell[2]
        assert re.fullmatch(r"−?\d{1,3}(\xa0\d{3})*", cell[3]), cell[3]  # whole kronor
    chart = json.loads(
        shown.split('id="payment-risk-chart" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert chart["encoding"]["x"]["title"] == "Sann effekt"
    assert {v["payment"] for v in chart["data"]["values"]} == payments
    # The historical reference is simulated too (decision 0723).
    costs = {
        "evaluation": "costs",
        "method": "historical_reference",
        "alpha": "0,05",
        "power": "0,8",
        "effect_kind": "units",
        "effect": "100000",
        "sd": "300000",
        "n_reference": "40",
        "n_per_group": "20",
        "months": "12",
        "action": "risk",
    }
    reference = client.post(url, costs).content.decode()
    assert 'data-testid="payment-risk"' in reference
    assert 'data-testid="payment-risk-unavailable"' not in reference


def _rendered_form(html: str) -> dict[str, str]:
    """The values the page's form would post as it stands."""
    form = html.split('data-testid="design-form"', 1)[1].split("</form>", 1)[0]
    values = dict(re.findall(r'<input type="text" name="(\w+)" value="([^"]*)"', form))
    for name, body in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', form, flags=re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        if chosen:
            values[name] = chosen.group(1)
    checked = re.search(r'name="effect_kind" value="(\w+)"[^>]*checked', form)
    if checked:
        values["effect_kind"] = checked.group(1)
    return values


def test_every_evaluation_computes_from_the_defaults_as_they_stand(page):
    """The first view must compute without an edit, for every evaluation the design stage
    plans (the defaults name the method of the evaluation chosen)."""
    client, url, world = page
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    evaluations = parsed_version(latest_version(world.contract)).evaluations
    planned = 0
    for name, spec in evaluations.items():
        if spec.method not in ("difference_in_means", "share_change", "did", "twfe",
                               "historical_reference", "trend_adjusted"):  # fmt: skip
            continue
        values = _rendered_form(client.get(url, {"evaluation": name}).content.decode())
        assert values["evaluation"] == name
        shown = client.post(url, {**values, "action": "preview"}).content.decode()
        assert 'data-testid="n-per-group">' in shown and "design-error" not in shown, name
        planned += 1
    assert planned >= 2  # Norrköping: the cost (historical reference) and school (DiD)
