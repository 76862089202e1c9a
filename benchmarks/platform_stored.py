"""From stored rows: a rate card settled, and every shipped contract's council dashboard.

A throw-away SQLite database is migrated and filled the way the demo fills it: every
contract in ``examples/contracts``, every role's organisation a party, and each
contract's synthetic tables (the scenario its ``utfall synth`` manifest serves)
imported through the ordinary import services — validation, pseudonyms, one Parquet
segment per committed batch. Then, in the same process:

* **rate card from stored rows** — the contract whose evaluation has the method
  ``rate_card``, with ``--size`` participants (``utfall synth ips --size N``: about
  three outcome events each). Contenders, in interleaved rounds:

  - *floor* — the events' stored segment read from the database and a bare DuckDB
    query counting first achievements per participant and outcome (``SELECT outcome,
    count(*) FROM (SELECT participant, outcome, min(date) … GROUP BY participant,
    outcome) GROUP BY outcome``);
  - *settle, cold* — ``contract_settle`` on a fresh ``StoredTables`` with its cache
    emptied: every segment read, merged and checked, the digests, the rate card, the
    contract's formulas;
  - *settle, warm* — the same with the merged tables cached per data state (what a
    second request meets).

* **council dashboards** — for every shipped contract, the page
  ``/contracts/<id>/council/`` as a commissioner requests it through Django's test
  client (server time: the view, the pipeline, the panels and the template), the
  first request (nothing cached) and the best of the repeated ones.

Ratios against the floor and the timings are printed; ``out/bench/results.json`` gets
them too.

    python -m benchmarks.platform_stored --size 100000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import DEFAULT_WORK, ROOT, peak_rss_self_mib, print_header

NAME = "platform_stored"
QUICK_ARGS = ["--size", "2000", "--rounds", "2"]
TARGET_RATIO = 3.0
TARGET_REPEATED_SECONDS = 0.050


def _django(folder: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.platform.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("UTFALL_TEST_PSEUDONYM_KEY_FILE", str(folder / "pseudonym.key"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _world() -> dict[str, Any]:
    """An organisation and a user per role (the commissioner's makes the contracts)."""
    from django.contrib.auth import get_user_model

    from utfall.platform.contracts.models import Role
    from utfall.platform.organisations.services import membership_add, organisation_create

    organisations, users = {}, {}
    for role in Role:
        organisations[role] = organisation_create(name=f"Bench {role.value}", actor=None)
        users[role] = get_user_model().objects.create_user(
            username=role.value, email=f"{role.value}@bench.invalid", password="bench-123"
        )
        membership_add(user=users[role], organisation=organisations[role], actor=None)
    return {"organisations": organisations, "users": users}


def _load(world: dict[str, Any], size: int, work: Path) -> dict[str, Any]:
    """Every shipped contract, its parties, and its synthetic tables imported."""
    from utfall.core.contracts import parse_contract
    from utfall.platform.contracts.models import ContractStatus, Role
    from utfall.platform.contracts.services import (
        contract_create,
        contract_party_set,
        contract_put_in_force,
    )
    from utfall.platform.demo import demo_import_tables
    from utfall.synth import SCENARIOS, generate

    served: dict[str, str] = {}
    contracts: dict[str, Any] = {}
    commissioner = world["users"][Role.COMMISSIONER]
    for path in sorted((ROOT / "examples" / "contracts").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        document = parse_contract(text, source=path.name)
        contract = contract_create(
            text=text,
            organisation=world["organisations"][Role.COMMISSIONER],
            actor=commissioner,
            file_name=path.name,
        )
        for role, organisation in world["organisations"].items():
            if role != Role.COMMISSIONER:
                contract_party_set(
                    contract=contract, organisation=organisation, role=role, actor=commissioner
                )
        if contract.status == ContractStatus.DRAFT:
            contract_put_in_force(contract=contract, actor=commissioner)
        contracts[document.id] = contract
    for scenario in SCENARIOS:
        sized = size if scenario == "ips" else None
        out = work / scenario
        manifest = generate(scenario, out, size=sized)
        for identifier in manifest.get("contracts", []):
            if identifier in contracts and identifier not in served:
                started = time.perf_counter()
                demo_import_tables(contracts[identifier], out, world["users"], lambda _t: None)
                print(f"  imported {identifier}'s tables in {time.perf_counter() - started:.1f} s")
                served[identifier] = scenario
    return contracts


def _rate_card(contracts: dict[str, Any], rounds: int) -> dict[str, Any]:
    from utfall.analytics import duckdb_cursor
    from utfall.platform import tables as stored
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.imports.models import TableSegment
    from utfall.services.contracts import contract_settle

    for contract in contracts.values():
        document = parsed_version(latest_version(contract))
        found = [s for s in document.evaluations.values() if s.method == "rate_card"]
        if found:
            break
    else:
        raise SystemExit("no shipped contract has a rate card")
    spec = found[0]
    events = spec.data
    outcome = str(spec.options.get("outcome_column", "outcome"))
    date = document.data.table(events).date

    def floor() -> Any:
        segments = TableSegment.objects.filter(contract=contract, table=events)
        cursor = duckdb_cursor()
        try:
            for index, segment in enumerate(segments.values_list("data", flat=True)):
                cursor.register(f"s{index}", stored.segment_decode(segment))
            union = " UNION ALL ".join(
                f'SELECT participant, "{outcome}", "{date}" FROM s{i}'
                for i in range(segments.count())
            )
            return cursor.execute(
                f'SELECT "{outcome}", count(*) FROM (SELECT participant, "{outcome}", '
                f'min("{date}") FROM ({union}) GROUP BY participant, "{outcome}") '
                f'GROUP BY "{outcome}"'
            ).fetchall()
        finally:
            cursor.close()

    def cold() -> Any:
        stored._CACHE.clear()  # a benchmark empties the cache on purpose
        return contract_settle(document, tables=stored.StoredTables(contract))

    def warm() -> Any:
        return contract_settle(document, tables=stored.StoredTables(contract))

    warm()
    runs = {"floor": floor, "settle_cold": cold, "settle_warm": warm}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    best = {name: min(values) for name, values in times.items()}
    counts = stored.StoredTables(contract)
    return {
        "contract": document.id,
        "participants": counts.table("participants").num_rows,
        "events": counts.table(events).num_rows,
        "best": best,
        "median": {name: statistics.median(values) for name, values in times.items()},
        "ratio_cold": best["settle_cold"] / best["floor"],
        "ratio_warm": best["settle_warm"] / best["floor"],
    }


def _dashboards(contracts: dict[str, Any], world: dict[str, Any], repeat: int) -> dict[str, Any]:
    from django.core.cache import cache
    from django.test import Client

    from utfall.platform.contracts.models import Role

    client = Client()
    client.force_login(world["users"][Role.COMMISSIONER])
    cache.clear()
    timings = {}
    for identifier in contracts:
        url = f"/contracts/{identifier}/council/"
        started = time.perf_counter()
        response = client.get(url)
        first = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        repeated = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            repeated.append(time.perf_counter() - started)
        timings[identifier] = {"first": first, "repeated": min(repeated)}
    return timings


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the numbers and the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.platform_stored")
    parser.add_argument("--size", type=int, default=100_000, help="rate-card participants")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="repeated dashboard requests")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="utfall-bench-platform-") as temporary:
        folder = Path(temporary)
        _django(folder)
        world = _world()
        print_header(f"platform from stored rows (rate card with {args.size:,} participants)")
        contracts = _load(world, args.size, folder / "synth")
        card = _rate_card(contracts, args.rounds)
        print(
            f"  {card['contract']}: {card['participants']:,} participants, "
            f"{card['events']:,} events"
        )
        for name, seconds in card["best"].items():
            print(f"  {name:<12} best {seconds:.3f} s   median {card['median'][name]:.3f} s")
        for kind in ("cold", "warm"):
            ratio = card[f"ratio_{kind}"]
            verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
            print(f"  settle ({kind}) / floor = {ratio:.2f}× (target ≤ {TARGET_RATIO}×: {verdict})")
        dashboards = _dashboards(contracts, world, args.repeat)
        for identifier, timing in dashboards.items():
            verdict = "met" if timing["repeated"] <= TARGET_REPEATED_SECONDS else "NOT met"
            print(
                f"  council {identifier:<38} first {timing['first']:6.2f} s   "
                f"repeated {timing['repeated'] * 1000:6.1f} ms ({verdict})"
            )
        print(f"  peak resident memory {peak_rss_self_mib():.0f} MiB")
    results = DEFAULT_WORK / "results.json"
    DEFAULT_WORK.mkdir(parents=True, exist_ok=True)
    previous = json.loads(results.read_text()) if results.exists() else {}
    previous[NAME] = {"rate_card": card, "dashboards": dashboards, "size": args.size}
    results.write_text(json.dumps(previous, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
