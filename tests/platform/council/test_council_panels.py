"""Panels chosen by what the contract declares: a contract nobody's code knows — households,
their spending, a wellbeing score, milestones paid by a rate card and grants — gets a
panel per evaluation by its method, labelled from its declaration, its subgroup levels
in the declared order, groups of fewer than five suppressed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pyarrow as pa
import pytest
from council_helpers import import_files

from utfall.core.contracts import parse_contract
from utfall.services.contracts import contract_settle
from utfall.services.council import dashboard_build
from utfall.services.tables import ArrowTables, conform

CONTRACT = """\
id: a-programme-nobody-knows
title: Ett program ingen kod känner till
version: "1"
currency: SEK
parties:
  - {id: town, name: Staden, role: commissioner}
  - {id: helper, name: Hjälparen, role: provider}
  - {id: checker, name: Granskaren, role: evaluator}
periods:
  contract: {start: 2024-01-01, end: 2026-12-31}
parameters:
  price_sek: {type: money, default: 1000}
  cap_sek: {type: money, default: 25000}
data:
  participants:
    label: {sv: Hushåll i programmet, en: Households in the programme}
    unit: {sv: hushåll, en: household}
    identity: [reference]
    inclusion: joined
    end: left
    group: arm
    treated: programme
    subgroups: [district]
    import: [provider]
    columns:
      joined: {type: date, label: {sv: Anslöt, en: Joined}}
      left: {type: date, required: false, label: {sv: Lämnade, en: Left}}
      arm:
        type: choice
        label: {sv: Arm, en: Arm}
        choices: {programme: {sv: Programmet, en: Programme}, usual: {sv: Som vanligt, en: As usual}}
      district:
        type: choice
        label: {sv: Stadsdel, en: District}
        choices: {zeta: {sv: Zetaby, en: Zeta town}, alpha: {sv: Alfaby, en: Alpha town}}
  tables:
    spending:
      kind: records
      label: {sv: Kommunens utgifter, en: The town's spending}
      date: month
      key: [month]
      import: [provider]
      columns:
        month: {type: date, label: {sv: Månad, en: Month}}
        amount: {type: money, unit: SEK, label: {sv: Belopp, en: Amount}}
    wellbeing:
      kind: measurements
      label: {sv: Välbefinnande, en: Wellbeing}
      date: measured_on
      key: [wave]
      import: [provider]
      columns:
        measured_on: {type: date, label: {sv: Mätdag, en: Measured on}}
        wave: {type: integer, min: 1, label: {sv: Mättillfälle, en: Wave}}
        score: {type: decimal, places: 1, unit: points, label: {sv: Poäng, en: Score}}
    milestones:
      kind: events
      label: {sv: Delmål, en: Milestones}
      date: reached_on
      key: [milestone]
      import: [provider]
      columns:
        reached_on: {type: date, label: {sv: Nått den, en: Reached on}}
        milestone:
          type: choice
          label: {sv: Delmål, en: Milestone}
          choices: {second_step: {sv: Andra steget, en: Second step}, first_step: {sv: Första steget, en: First step}}
        evidence: {type: text, required: false, label: {sv: Underlag, en: Evidence}}
    grants:
      kind: series
      label: {sv: Bidrag, en: Grants}
      date: paid_on
      key: [paid_on]
      import: [provider]
      columns:
        paid_on: {type: date, label: {sv: Utbetalt, en: Paid on}}
        amount_paid: {type: money, unit: SEK, label: {sv: Belopp, en: Amount}}
evaluations:
  spending:
    label: {sv: Utgifter mot jämförelsen, en: Spending against the comparison}
    method: historical_reference
    table: spending
    outcome: amount
    per: month
    time: months_since_inclusion
    ci: {method: bootstrap, level: 0.95, reps: 99}
    seed: 7
    options: {horizon: 11}
  wellbeing:
    label: {sv: Välbefinnande före och efter, en: Wellbeing before and after}
    method: pre_post
    table: wellbeing
    outcome: score
    time: wave
    options: {baseline: 1, follow_up: 2}
  milestones:
    label: {sv: Delmål enligt prislistan, en: Milestones by the rate card}
    method: rate_card
    table: milestones
    options:
      outcome_column: milestone
      cap_total: cap_sek
      outcomes:
        first_step: {price: price_sek}
        second_step: {price: price_sek, requires: first_step}
  granted:
    label: {sv: Utbetalda bidrag, en: Grants paid}
    method: aggregate
    table: grants
    outcome: amount_paid
    options: {statistic: sum}
inputs:
  saving_sek: {type: money, evaluate: spending, take: cumulative_saving}
  earned_sek: {type: money, evaluate: milestones, take: value_sek}
  granted_sek: {type: money, evaluate: granted, take: value}
  improved: {type: boolean, evaluate: wellbeing, take: ci_low, at_least: 0}
outputs:
  pay_sek: {type: money, formula: "earned_sek + (if improved then max(saving_sek, 0) * 0 else 0)"}
payments:
  - {id: pay, from: town, to: helper, label: Ersättning, amount: pay_sek}
"""
AS_OF = dt.date(2025, 12, 31)


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _rows() -> dict[str, list[dict[str, object]]]:
    rng = np.random.default_rng(11)
    people, spending, wellbeing, milestones = [], [], [], []
    for k in range(60):
        arm = "programme" if k < 30 else "usual"
        # 26 programme households in Zeta town, 4 in Alpha town: a group of four.
        district = "alpha" if (k < 30 and k % 30 < 4) or (k >= 30 and k % 30 < 12) else "zeta"
        joined = _month(dt.date(2024, 1, 1), k % 12)
        ref = f"H-{k:03d}"
        people.append({"participant": ref, "joined": joined, "arm": arm, "district": district})
        for m in range(12):
            base = 20000 - 400 * m
            factor = 0.8 if arm == "programme" and m > 2 else 1.0
            spending.append(
                {
                    "participant": ref,
                    "month": _month(joined, m),
                    "amount": f"{base * factor * rng.uniform(0.9, 1.1):.2f}",
                }
            )
        before = 50 + 5 * rng.standard_normal()
        gain = 6 if arm == "programme" else 0
        for wave, value in ((1, before), (2, before + gain + 2 * rng.standard_normal())):
            wellbeing.append(
                {
                    "participant": ref,
                    "measured_on": _month(joined, 6 * (wave - 1)),
                    "wave": wave,
                    "score": f"{value:.1f}",
                }
            )
        if arm == "programme":
            milestones.append(
                {
                    "participant": ref,
                    "reached_on": _month(joined, 2),
                    "milestone": "first_step",
                    "evidence": "intyg",
                }
            )
            if k % 3:
                milestones.append(
                    {
                        "participant": ref,
                        "reached_on": _month(joined, 5),
                        "milestone": "second_step",
                        "evidence": "intyg",
                    }
                )
    grants = [
        {"paid_on": _month(dt.date(2024, 3, 1), 3 * q), "amount_paid": "1000.00"} for q in range(4)
    ]
    return {
        "participants": people,
        "spending": spending,
        "wellbeing": wellbeing,
        "milestones": milestones,
        "grants": grants,
    }


def _tables(contract):
    out = {}
    for name, rows in _rows().items():
        raw = pa.Table.from_pylist(
            [
                {k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in r.items()}
                for r in rows
            ]
        )
        out[name] = conform(raw, contract.data.table(name), where=f"{name} (test)")
    return ArrowTables(out, origin="the test's rows")


@pytest.fixture(scope="module")
def built():
    contract = parse_contract(CONTRACT, source="nobody-knows.yaml")
    tables = _tables(contract)
    return contract, tables, dashboard_build(contract, tables, as_of=AS_OF)


def test_each_evaluation_gets_the_panel_of_its_method(built):
    _contract, _tables, dashboard = built
    kinds = {p["evaluation"]: p["kind"] for p in dashboard["panels"]}
    assert kinds == {
        "spending": "cost_trajectory",
        "wellbeing": "before_after",
        "milestones": "funnel",
        "granted": "aggregate",
    }
    assert all(p["status"] == "ok" for p in dashboard["panels"]), [
        (p["evaluation"], p.get("error")) for p in dashboard["panels"]
    ]
    assert dashboard["settlement"]["error"] is None


def test_labels_and_order_come_from_the_declaration(built):
    _contract, _tables, dashboard = built
    panels = {p["evaluation"]: p for p in dashboard["panels"]}
    spending = panels["spending"]
    assert spending["label"] == {
        "sv": "Utgifter mot jämförelsen",
        "en": "Spending against the comparison",
    }
    assert spending["table_label"] == {"sv": "Kommunens utgifter", "en": "The town's spending"}
    (district,) = spending["subgroups"]
    assert district["label"] == {"sv": "Stadsdel", "en": "District"}
    # The four programme households of Alpha town are not published (nor, secondarily,
    # the other level: one hidden cell would be the total less the shown one).
    assert all(row["suppressed"] for row in district["rows"])
    assert "Alfaby" not in json.dumps(dashboard, ensure_ascii=False)
    funnel = panels["milestones"]
    # Outcomes in the card's order, labelled by the choice's declared labels.
    assert [o["outcome"] for o in funnel["outcomes"]] == ["first_step", "second_step"]
    assert funnel["outcomes"][0]["label"] == {"sv": "Första steget", "en": "First step"}
    assert [o["achieved"] for o in funnel["outcomes"]] == [30, 20]
    # 50 achievements at 1 000 SEK, the total cap of 25 000 pays 25 of them.
    assert sum(o["count"] for o in funnel["outcomes"]) == 25
    assert funnel["figures"]["earned"] == "25000.00"  # 50 000 earned, capped at 25 000
    assert funnel["figures"]["cap"] == "25000.00"
    last = funnel["funnel"][-1]
    assert last["included"] == 30 and last["first_step"] == 30
    reasons = {row["reason"] for row in funnel["uncounted"]}
    assert "over_total_cap" in reasons


def test_a_threshold_of_an_input_bound_with_at_least_is_shown(built):
    _contract, _tables, dashboard = built
    wellbeing = next(p for p in dashboard["panels"] if p["evaluation"] == "wellbeing")
    (threshold,) = wellbeing["bound"]
    assert threshold["input"] == "improved" and threshold["at_least"] == "0"
    assert threshold["met"] is dashboard["settlement"]["inputs"]["improved"]
    assert wellbeing["figures"]["mean_after"] > wellbeing["figures"]["mean_before"]


def test_the_panels_equal_the_settlement(built):
    contract, tables, dashboard = built
    run = contract_settle(contract, tables=tables, until=AS_OF)
    for panel in dashboard["panels"]:
        estimate = run.evaluations[panel["evaluation"]]
        assert panel["estimate"]["value"] == estimate.estimate
        assert panel["estimate"]["ci_low"] == estimate.ci_low
    assert dashboard["settlement"]["total"] == str(run.settlement.payments[0].amount)


def test_subgroup_levels_keep_the_declared_order():
    contract = parse_contract(CONTRACT, source="nobody-knows.yaml")
    rows = _rows()
    # Enough households in both towns for both levels to be published.
    for person in rows["participants"]:
        person["district"] = "alpha" if int(str(person["participant"])[2:]) % 2 else "zeta"
    data = {}
    for name, table_rows in rows.items():
        raw = pa.Table.from_pylist(
            [
                {k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in r.items()}
                for r in table_rows
            ]
        )
        data[name] = conform(raw, contract.data.table(name), where=name)
    dashboard = dashboard_build(contract, ArrowTables(data), as_of=AS_OF)
    spending = next(p for p in dashboard["panels"] if p["evaluation"] == "spending")
    (district,) = spending["subgroups"]
    # Declared: zeta, then alpha (not sorted as text).
    assert [row["level"] for row in district["rows"]] == ["zeta", "alpha"]
    assert district["rows"][1]["label"] == {"sv": "Alfaby", "en": "Alpha town"}


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
        )
    return out.getvalue().encode("utf-8")


@pytest.mark.django_db
def test_the_platform_shows_the_panels_from_stored_rows(world, client):
    """Uploaded and imported like any contract: its page has the panels of its methods."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create, contract_party_set

    contract = contract_create(
        text=CONTRACT,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="nobody-knows.yaml",
    )
    for role in (Role.PROVIDER, Role.EVALUATOR, Role.FINANCIER):
        contract_party_set(
            contract=contract,
            organisation=world.organisations[role],
            role=role,
            actor=world.users[Role.COMMISSIONER],
            accepted_by=world.users[role],
            approved_by=[world.users[Role.FINANCIER]],
        )
    import_files(contract, world.users, {name: _csv(rows) for name, rows in _rows().items()})
    client.force_login(world.users[Role.PROVIDER])
    page = client.get(f"/contracts/{contract.identifier}/council/?as_of={AS_OF}")
    assert page.status_code == 200
    html = page.content.decode()
    for table_id in (
        "spending-monthly",
        "spending-cumulative",
        "wellbeing-before-after",
        "wellbeing-thresholds",
        "milestones-funnel",
        "milestones-earned",
        "milestones-outcomes",
        "settlement",
        "individuals",
    ):
        assert f'data-testid="table-{table_id}"' in html, table_id
    assert "Alfaby" not in html
    # The contract declares no council.individual_status: every party role sees the status
    # per individual, the financier included (the seeds' council; decision 0940).
    client.force_login(world.users[Role.FINANCIER])
    html = client.get(f"/contracts/{contract.identifier}/council/?as_of={AS_OF}").content.decode()
    assert 'data-testid="table-individuals"' in html
