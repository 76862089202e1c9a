"""What the council tests share (imported by name; ``conftest`` modules are not, since
several test directories have one).

The pipeline tests find the shipped contracts in examples/contracts and their data in
what ``utfall synth`` writes, naming none. The platform tests use the ``world``
fixture's contract (Norrköping) with a small, deterministic data set imported through
the same import services a person uses (one CSV per declared table): twelve included
children — four in the age band 6–12 (a subgroup of four that must never be
published), eight aged 13–15 — and a reference cohort of 30; costs months 0–17 since
inclusion, school results before and after, social scores at three points (the third
only for three children, so it is suppressed too).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CONTRACTS = sorted((EXAMPLES / "contracts").glob("*.yaml"))
SYNTH_SIZE = 60
"""A small size for every synthetic scenario (falls back to the scenario's default)."""


def synthetic_data(root: Path) -> dict[str, Path]:
    """Every synthetic scenario written under ``root``: contract id → the folder holding its
    declared tables (each scenario's manifest names the contracts it writes tables for)."""
    from utfall.synth import SCENARIOS, generate

    found: dict[str, Path] = {}
    for scenario in SCENARIOS:
        out = root / scenario
        try:
            manifest = generate(scenario, out, size=SYNTH_SIZE)
        except ValueError:
            manifest = generate(scenario, out)
        for contract in manifest.get("contracts", []):
            found[str(contract)] = out
    return found


def tables_for(contract: Any, data: dict[str, Path]) -> Any:
    """The contract's tables: its synthetic data when a scenario writes them, else empty
    tables of the declared shapes (None when it declares no data)."""
    from utfall.adapters.files import DirectoryTables
    from utfall.services.tables import ArrowTables, canonical_schema

    if contract.id in data:
        return DirectoryTables(data[contract.id], contract.data)
    if not contract.data:
        return None
    return ArrowTables(
        {table.name: canonical_schema(table).empty_table() for table in contract.data},
        origin="no data",
    )


def last_day(contract: Any, tables: Any) -> dt.date:
    """The last day with data in any declared table (the end of the contract's last period
    without data)."""
    days = []
    if tables is not None:
        for table in contract.data:
            try:
                value = pc.max(tables.table(table.name).column(table.date)).as_py()
            except Exception:  # a table the provider does not hold
                continue
            if value is not None:
                days.append(value)
    if days:
        return max(days)
    ends = [period.end for period in contract.periods.values()]
    return max(ends) if ends else dt.date(2026, 1, 1)


def unbound_facts(contract: Any) -> Any:
    """The example facts of the contract, for the inputs no evaluation gives (a statement's
    entered values play this part on the platform)."""
    from utfall.adapters.files import facts_read
    from utfall.services.contracts import Facts

    path = EXAMPLES / "facts" / f"{contract.id}.yaml"
    if not path.is_file():
        return Facts()
    facts = facts_read(path)
    unbound = {n for n, term in contract.inputs.items() if not term.evaluate}
    values = {n: v for n, v in facts.values.items() if n in unbound}
    return Facts(values=values, source=facts.source if values else None)


AS_OF = dt.date(2019, 1, 31)
INCLUDED_ON = dt.date(2016, 8, 1)
REFERENCE_ON = dt.date(2012, 1, 1)


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


SMALL_LEVEL = "6-12"
"""The age band of four included children: a subgroup that must never be published."""
SMALL_LABELS = ("6–12 år", "6–12 years")
LARGE_LEVEL = "13-15"


def council_files() -> dict[str, bytes]:
    """The Norrköping contract's tables, one CSV each, as a person would import them."""
    rng = np.random.default_rng(7)
    people = [
        (f"T-{k:03d}", INCLUDED_ON, "treatment", SMALL_LEVEL if k < 4 else LARGE_LEVEL)
        for k in range(12)
    ] + [
        (f"R-{k:03d}", REFERENCE_ON, "comparison", SMALL_LEVEL if k < 10 else LARGE_LEVEL)
        for k in range(30)
    ]
    return synthetic_files(
        people,
        rng,
        months=18,
        effect_months=6,
        follow_up=24,
        third_point_below=3,
        reports_from=dt.date(2016, 9, 1),
        quarters=6,
        index_months=12 * 9,
    )


def synthetic_files(
    people: list[tuple[str, dt.date, str, str]],
    rng: np.random.Generator,
    *,
    months: int,
    effect_months: int,
    follow_up: int,
    third_point_below: int,
    reports_from: dt.date,
    quarters: int,
    index_months: int,
) -> dict[str, bytes]:
    """The contract's tables for ``people`` (reference, inclusion day, group, age band).

    Each child has ``months`` monthly costs, a treated child's costs rising for the first
    ``effect_months`` and falling after; merit points at inclusion and ``follow_up``
    months later; two social assessment points, a third for the treated children among
    the first ``third_point_below``; ``quarters`` quarterly cost reports from
    ``reports_from`` and a flat price index over ``index_months`` months from 2011.
    """
    files = {
        "participants": _csv(
            ["participant", "included_on", "group", "age_band"],
            [[ref, day.isoformat(), group, band] for ref, day, group, band in people],
        )
    }
    costs, days, school, social = [], [], [], []
    for index, (ref, included, group, _band) in enumerate(people):
        treated = group == "treatment"
        for m in range(months):
            effect = 1.1 if m < effect_months else 0.7
            cost = (40000 - 1000 * m) * (effect if treated else 1.0) * rng.uniform(0.8, 1.2)
            costs.append([ref, _month(included, m).isoformat(), "placement", f"{cost:.2f}"])
        if index % 12 < 7:  # placed in the year before inclusion
            days.append([ref, _month(included, -2).isoformat(), 20])
        # Merit points before and ``follow_up`` months after inclusion: the included children
        # gain, the reference group's results tend to decline (DESIGN.md 2.1).
        before = 150 + 10 * rng.standard_normal()
        after = before + (15 if treated else -10) + 5 * rng.standard_normal()
        for day, value in ((included, before), (_month(included, follow_up), after)):
            school.append([ref, day.isoformat(), "merit_points", f"{value:.1f}"])
        if treated:
            for point in range(1, (3 if index < third_point_below else 2) + 1):
                for dimension in ("mental_health", "participation", "own_goal_attainment"):
                    if dimension == "own_goal_attainment":
                        score = 0 if point == 1 else int(rng.random() < 0.8)
                    else:
                        score = int(np.clip(round(2.5 + 0.5 * (point - 1) + rng.normal()), 1, 5))
                    social.append(
                        [
                            ref,
                            _month(included, 6 * (point - 1)).isoformat(),
                            dimension,
                            point,
                            score,
                        ]
                    )
    files["cost_records"] = _csv(["participant", "date", "category", "amount"], costs)
    files["placement_days"] = _csv(["participant", "month", "days"], days)
    files["school_results"] = _csv(["participant", "date", "subject", "score"], school)
    files["social_scores"] = _csv(["participant", "date", "dimension", "point", "score"], social)
    files["cost_reports"] = _csv(
        ["period_end", "category", "amount"],
        [
            [_month(reports_from, 3 * q).isoformat(), "salaries", "500000.00"]
            for q in range(quarters)
        ],
    )
    files["price_index"] = _csv(
        ["month", "index"],
        [[_month(dt.date(2011, 1, 1), m).isoformat(), "100"] for m in range(index_months)],
    )
    # The evaluator's quarterly attestation that the intervention was delivered as agreed
    # (the guarantee's condition, seed 002; issue 17), dated with the cost reports.
    files["delivery_attestations"] = _csv(
        ["date", "delivered", "activity_reports"],
        [
            [_month(reports_from, 3 * q).isoformat(), "true", f"Aktivitetsrapport {q + 1}"]
            for q in range(quarters)
        ],
    )
    return files


def import_files(contract: Any, users: Any, files: dict[str, bytes]) -> None:
    """Import each file through the import services, as a role the table declares."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.imports.services import import_file

    document = parsed_version(latest_version(contract))
    for name, content in files.items():
        role = document.data.table(name).import_roles[0]
        import_file(
            contract=contract,
            table=name,
            name=f"{name}.csv",
            content=content,
            actor=users[Role(role)],
        )
