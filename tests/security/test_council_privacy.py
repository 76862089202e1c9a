"""Issue 14, item 3: small groups read by differencing the council dashboard, and the
recomputation one request could trigger (decisions 0610, 0611).

The attacks replayed: the financier (aggregates only) fetched the dashboard ``as_of`` two
consecutive month ends and read one child's cost and scores from the difference; a day with
three included children showed their costs; nine new dates recomputed the dashboard with
its bootstrap nine times. The contract is the platform tests' Norrköping contract with a
staggered inclusion (cohorts of 3, 3, 1, 6, 2 and 5 children), imported through the import
services, and with the financier left out of its ``council: individual_status`` term (the
shipped contract lists it, as seed 000 describes): the attacks are those of a role that sees
aggregates only (decision 0940).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import numpy as np
import pytest
from council_helpers import REFERENCE_ON, _month, import_files, synthetic_files
from visibility_helpers import AGGREGATES_FOR_FINANCIER, with_individual_status

COHORTS = [
    (dt.date(2016, 5, 1), 3),
    (dt.date(2016, 8, 1), 3),
    (dt.date(2016, 11, 1), 1),
    (dt.date(2017, 2, 1), 6),
    (dt.date(2017, 5, 1), 2),
    (dt.date(2017, 8, 1), 5),
]
"""Inclusion day and size of each cohort of treated children."""
MONTHS = 12


def _included_by(day: dt.date) -> int:
    """The true number of treated children included on or before ``day``."""
    return sum(size for included, size in COHORTS if included <= day)


def staggered_files() -> dict[str, bytes]:
    """The Norrköping tables with the children included in cohorts over 15 months."""
    rng = np.random.default_rng(11)
    people = []
    for included, size in COHORTS:
        for _ in range(size):
            k = len(people)
            people.append((f"T-{k:03d}", included, "treatment", "6-12" if k % 2 else "13-15"))
    people += [
        (f"R-{k:03d}", REFERENCE_ON, "comparison", "6-12" if k < 15 else "13-15") for k in range(30)
    ]
    return synthetic_files(
        people,
        rng,
        months=MONTHS,
        effect_months=4,
        follow_up=MONTHS,
        third_point_below=0,
        reports_from=dt.date(2016, 6, 1),
        quarters=8,
        index_months=12 * 7 + 8,
    )


@pytest.fixture
def norrkoping_text(norrkoping_text):
    """The Norrköping contract in which the financier sees aggregates only."""
    return with_individual_status(norrkoping_text, AGGREGATES_FOR_FINANCIER)


@pytest.fixture
def staggered(world):
    from django.core.cache import cache

    from utfall.platform.council.selectors import _MEMO

    _MEMO.clear()
    cache.clear()
    import_files(world.contract, world.users, staggered_files())
    return world


def _api(client, world, role, path: str, **params: str):
    from utfall.platform.organisations.services import api_token_create

    if not hasattr(world, "tokens"):
        world.tokens = {}
    if role not in world.tokens:
        world.tokens[role] = api_token_create(user=world.users[role], name="council")[1]
    return client.get(
        f"/api/contracts/{world.contract.identifier}/council/{path}",
        params,
        HTTP_AUTHORIZATION=f"Bearer {world.tokens[role]}",
    )


def _month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first
    while day <= last:
        following = _month(day.replace(day=1), 1)
        out.append(following - dt.timedelta(days=1))
        day = following
    return out


def _figures(release: dict[str, Any]) -> dict[tuple[str, ...], dict[str, int]]:
    """Every figure about people a release shows, with the people behind it, read from the
    JSON as anyone would (not through the platform's own bookkeeping): the settlement and
    each panel by the true number of included children on the day, each month of a cost
    trajectory by its ``n``, each subgroup row by its groups."""
    day = dt.date.fromisoformat(release["as_of"])
    out: dict[tuple[str, ...], dict[str, int]] = {}
    settlement = release.get("settlement") or {}
    if settlement.get("total") is not None or settlement.get("outputs"):
        out[("settlement",)] = {"included": _included_by(day)}
    for panel in release["panels"]:
        if panel.get("status") != "ok" or not (panel.get("people") or {}).get("treated"):
            continue
        out[("panel", panel["id"])] = {
            "included": _included_by(day),
            "treated": panel["people"]["treated"],
        }
        for row in panel.get("monthly") or []:
            if row.get("n") is not None:
                out[("month", panel["id"], str(row["month"]))] = {"n": row["n"]}
        for group in panel.get("subgroups") or []:
            for row in group.get("rows") or []:
                if not row.get("suppressed"):
                    out[("subgroup", panel["id"], group["column"], row["level"])] = {
                        "treated": row["n_treated"],
                        "control": row["n_control"],
                    }
    return out


def _few(a: dict[str, int], b: dict[str, int]) -> list[str]:
    return [key for key in a if key in b and 0 < abs(a[key] - b[key]) < 5]


@pytest.mark.django_db
@pytest.mark.slow
def test_differencing_any_two_releases_never_describes_fewer_than_five(staggered, client):
    """Every release the API, the JSON and the page offer the financier, every pair of them:
    no figure shown in both rests on groups differing by 1–4 children."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.council.selectors import reporting_dates

    world = staggered
    financier = Role.FINANCIER
    dates = reporting_dates(world.contract)
    assert dates[0] == dt.date(2016, 3, 31) and dates[-1] == dt.date(2018, 6, 30)
    releases: dict[str, dict[str, Any]] = {}
    # Every month end the attacker may ask for: each answer is a reporting date's release.
    for day in _month_ends(dt.date(2016, 3, 1), dt.date(2018, 12, 31)):
        answer = _api(client, world, financier, "dashboard", as_of=day.isoformat())
        assert answer.status_code == 200, (day, answer.content[:300])
        data = answer.json()
        assert data.pop("requested_as_of") == day.isoformat()
        shown = dt.date.fromisoformat(data["as_of"])
        assert shown in dates and shown <= day and not [d for d in dates if shown < d <= day]
        releases.setdefault(data["as_of"], data)
        assert releases[data["as_of"]] == data  # a release never changes
    assert sorted(releases) == [d.isoformat() for d in dates]
    # The pages and the JSON view serve the same releases.
    client.force_login(world.users[financier])
    base = f"/contracts/{world.contract.identifier}/council"
    for day in dates:
        page = client.get(f"{base}/dashboard.json", {"as_of": day.isoformat()})
        assert page.status_code == 200
        assert page.json() == releases[day.isoformat()] | {"requested_as_of": day.isoformat()}
    shown_any = False
    for (day_a, a), (day_b, b) in itertools.combinations(sorted(releases.items()), 2):
        figures_a, figures_b = _figures(a), _figures(b)
        for key in figures_a.keys() & figures_b.keys():
            shown_any = True
            assert not _few(figures_a[key], figures_b[key]), (day_a, day_b, key)
    assert shown_any  # the test compares figures, not only suppressed panels
    # Cohorts of 6 → 7 children (2016-09-30 → 2016-12-31): the later costs are withheld.
    december = releases["2016-12-31"]
    costs = next(p for p in december["panels"] if p["id"] == "costs")
    assert costs["status"] == "suppressed" and "estimate" not in costs
    assert december["settlement"]["error"] == "suppressed"
    assert "1 children" not in json.dumps(december)


@pytest.mark.django_db
def test_a_day_with_three_included_children_shows_no_cost(staggered, client):
    """as_of=2016-06-30 (style of 2016-09-30 in the demo): three children are included; the
    financier sees no settlement, no panel figure, no figure an input takes."""
    from utfall.platform.contracts.models import Role

    world = staggered
    answer = _api(client, world, Role.FINANCIER, "dashboard", as_of="2016-07-15")
    data = answer.json()
    assert answer.status_code == 200 and data["as_of"] == "2016-06-30"
    assert _included_by(dt.date(2016, 6, 30)) == 3
    assert data["settlement"]["error"] == "suppressed"
    assert "total" not in data["settlement"] and "outputs" not in data["settlement"]
    assert data["series"] == [] and not data.get("individuals")
    for panel in data["panels"]:
        for row in panel.get("bound") or []:
            assert row["value"] is None and "figure" not in row, panel["id"]
        # Series about the contract, not about people: the cost reports and the evaluator's
        # attestations of delivery (issue 17).
        if panel["table"] not in ("cost_reports", "delivery_attestations"):
            assert panel["status"] != "ok", panel["id"]
            assert "estimate" not in panel and "monthly" not in panel
    client.force_login(world.users[Role.FINANCIER])
    page = client.get(f"/contracts/{world.contract.identifier}/council/", {"as_of": "2016-06-30"})
    assert page.status_code == 200
    assert 'data-testid="settlement-suppressed"' in page.content.decode()


@pytest.mark.django_db
def test_aggregate_only_roles_get_reporting_dates_only(staggered, client):
    """Any other day is snapped to the reporting date before it (and said so on the page); a
    day before the first is refused 404 in the documented error shape. Those who work with
    the individuals still choose any day."""
    from utfall.platform.contracts.models import Role

    world = staggered
    answer = _api(client, world, Role.FINANCIER, "dashboard", as_of="2016-10-31")
    assert answer.status_code == 200 and answer.json()["as_of"] == "2016-09-30"
    assert answer.json()["requested_as_of"] == "2016-10-31"
    refused = _api(client, world, Role.FINANCIER, "dashboard", as_of="2016-01-31")
    assert refused.status_code == 404
    body = refused.json()
    assert set(body) == {"message", "detail", "findings"}
    assert "2016-03-31" in body["message"]
    evaluator = _api(client, world, Role.EVALUATOR, "dashboard", as_of="2016-10-31")
    assert evaluator.status_code == 200 and evaluator.json()["as_of"] == "2016-10-31"
    client.force_login(world.users[Role.FINANCIER])
    base = f"/contracts/{world.contract.identifier}/council"
    page = client.get(f"{base}/", {"as_of": "2016-10-31"}).content.decode()
    assert 'data-testid="reporting-dates"' in page and 'type="date"' not in page
    assert "2016-10-31" in page and '<option value="2016-09-30" selected>' in page
    # The page is in Swedish, the note too: what was asked for, and what is shown.
    assert "2016-10-31 är inget rapportdatum: siffrorna är de för 2016-09-30." in page
    assert "insatsrådets kvartalsvisa rapportdatum" in page
    assert client.get(f"{base}/", {"as_of": "2016-01-31"}).status_code == 404
    csv = client.get(f"{base}/tables/costs-monthly.csv", {"as_of": "2016-10-31"})
    assert csv.status_code in (200, 404)
    if csv.status_code == 200:
        assert "2016-09-30" in csv["Content-Disposition"]


@pytest.mark.django_db
def test_a_meeting_snapshot_is_shown_to_the_financier_as_its_reporting_date(staggered, client):
    """A meeting looking at 2017-01-31 does not give the financier an extra release."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.council import services

    world = staggered
    meeting = services.meeting_record(
        contract=world.contract,
        actor=world.users[Role.COMMISSIONER],
        held_on=dt.date(2017, 2, 10),
        as_of=dt.date(2017, 1, 31),
        title="Insatsråd",
    )
    assert meeting.snapshot["as_of"] == "2017-01-31"
    api = _api(client, world, Role.FINANCIER, f"meetings/{meeting.pk}").json()
    assert api["dashboard"]["as_of"] == "2016-12-31"
    assert api["dashboard"] == _api(
        client, world, Role.FINANCIER, "dashboard", as_of="2016-12-31"
    ).json() | {"requested_as_of": "2017-01-31"}
    client.force_login(world.users[Role.FINANCIER])
    base = f"/contracts/{world.contract.identifier}/council"
    page = client.get(f"{base}/meetings/{meeting.pk}/").content.decode()
    assert 'data-testid="release-of-meeting"' in page and "2016-12-31" in page
    report = client.get(
        f"/contracts/{world.contract.identifier}/council/meetings/{meeting.pk}/report.html"
    )
    assert report.status_code == 200
    commissioner = _api(client, world, Role.COMMISSIONER, f"meetings/{meeting.pk}").json()
    assert commissioner["dashboard"]["as_of"] == "2017-01-31"


@pytest.mark.django_db
def test_new_dates_do_not_recompute_the_dashboard_on_demand(staggered, client, monkeypatch):
    """Nine new days asked for by the financier compute at most the reporting dates they
    fall on, each once; asking again computes nothing; while another computation of the
    contract runs, a request is told to come back (503, Retry-After) instead of starting one."""
    from django.core.cache import cache

    from utfall.platform.contracts.models import Role
    from utfall.platform.council import selectors

    world = staggered
    calls: list[str] = []
    build = selectors.dashboard_build

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["as_of"].isoformat())
        return build(*args, **kwargs)

    monkeypatch.setattr(selectors, "dashboard_build", counted)
    days = [dt.date(2017, 7, d) for d in range(1, 10)]
    for day in days:
        assert (
            _api(client, world, Role.FINANCIER, "dashboard", as_of=day.isoformat()).status_code
            == 200
        )
    assert calls == ["2017-06-30"]
    selectors._MEMO.clear()
    cache.clear()
    for day in days:
        assert (
            _api(client, world, Role.FINANCIER, "dashboard", as_of=day.isoformat()).status_code
            == 200
        )
    assert calls == ["2017-06-30"]  # stored, not recomputed

    monkeypatch.setattr(selectors, "COMPUTE_WAIT_SECONDS", 0.0)
    cache.add(f"council-computing:{world.contract.pk}", "another", 60)
    busy = _api(client, world, Role.FINANCIER, "dashboard", as_of="2017-12-31")
    assert busy.status_code == 503
    assert "being computed" in busy.json()["message"]
    client.force_login(world.users[Role.PROVIDER])  # any day is computed for those who may
    page = client.get(f"/contracts/{world.contract.identifier}/council/", {"as_of": "2017-11-15"})
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert calls == ["2017-06-30"]


# --- the rule itself, fuzzed -----------------------------------------------------------------

LEVELS = ("a", "b", "c")


def _release(day: int, treated: int, months: list[int], levels: list[int]) -> dict[str, Any]:
    """A dashboard of the shape the service builds: headcounts, a settlement, a panel with
    its months and one subgroup table (each within-release small cell already suppressed,
    as ``dashboard_build`` does)."""
    from utfall.services.council.suppression import suppress_cells

    rows = [
        {"month": m, "n": n, "observed": f"{1000 * n}.00", "cumulative": f"{10 * n}.00"}
        for m, n in enumerate(months)
        if n >= 5
    ]
    groups = suppress_cells(
        [
            {"level": level, "n_treated": n, "n_control": 10, "cell": n, "estimate": 1.0 * n}
            for level, n in zip(LEVELS, levels, strict=True)
        ],
        count="cell",
    )
    panel: dict[str, Any] = {
        "id": "costs",
        "kind": "cost_trajectory",
        "table": "cost_records",
        "status": "ok" if treated >= 5 else "suppressed",
        "people": {"treated": treated, "control": 30},
        "bound": [{"input": "saving", "value": "1.00", "settled": True, "figure": 1.0}],
    }
    if treated >= 5:
        panel.update(
            estimate={"value": 100.0 * treated},
            monthly=rows,
            subgroups=[{"column": "band", "rows": groups}],
        )
    return {
        "as_of": f"2020-{day:02d}-28",
        "participants": {"included": treated, "left": None, "rows": treated + 30},
        "sources": {"tables": [{"table": "participants", "rows": treated + 30}]},
        "settlement": {"error": None, "total": f"{treated}.00", "outputs": [{"value": 1}]},
        "series": [{"name": "x", "points": []}],
        "break_even": None,
        "panels": [panel],
        "individuals": {"rows": [{"pseudonym": "p"}]},
    }


def _shown_counts(release: dict[str, Any], treated: int) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    if release["settlement"].get("total") is not None:
        out[("settlement",)] = treated
    if release["participants"]["included"] is not None:
        out[("included",)] = release["participants"]["included"]
    for panel in release["panels"]:
        if panel["status"] != "ok":
            continue
        out[("panel",)] = panel["people"]["treated"]
        for row in panel.get("monthly") or []:
            out[("month", str(row["month"]))] = row["n"]
        for group in panel.get("subgroups") or []:
            for row in group["rows"]:
                if not row["suppressed"]:
                    out[("level", row["level"])] = row["n_treated"]
    return out


def test_differencing_fuzzed_releases_in_any_order_never_describes_fewer_than_five():
    """Any sequence of releases, published in any order: between any two, every figure
    shown in both rests on counts equal or at least five apart; a withheld subgroup row is
    never alone; the individual list and row counts are never published."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from utfall.services.council.releases import suppress_differences, suppress_small

    count = st.integers(min_value=0, max_value=40)
    release = st.tuples(
        count, st.lists(count, min_size=4, max_size=4), st.lists(count, min_size=3, max_size=3)
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(release, min_size=2, max_size=7), st.randoms(use_true_random=False))
    def check(raw: list[Any], rng: Any) -> None:
        order = list(range(len(raw)))
        rng.shuffle(order)
        published: list[dict[str, Any]] = []
        cells: list[Any] = []
        for index in order:
            treated, months, levels = raw[index]
            shown, mine = suppress_differences(
                suppress_small(_release(index + 1, treated, sorted(months, reverse=True), levels)),
                cells,
            )
            published.append((shown, treated))
            cells.append(mine)
        for (a, treated_a), (b, treated_b) in itertools.combinations(published, 2):
            counts_a, counts_b = _shown_counts(a, treated_a), _shown_counts(b, treated_b)
            for key in counts_a.keys() & counts_b.keys():
                assert not 0 < abs(counts_a[key] - counts_b[key]) < 5, key
        for shown, treated in published:
            assert "individuals" not in shown
            if 0 < treated < 5:
                assert shown["settlement"] == {
                    "error": "suppressed",
                    "missing": [],
                    "facts_source": None,
                    "entered": [],
                }
                assert shown["participants"]["included"] is None
            assert shown["sources"]["tables"][0]["rows"] is None
            for panel in shown["panels"]:
                if panel["status"] != "ok":
                    assert set(panel) <= {"id", "kind", "table", "status", "people", "bound"}
                    assert all("figure" not in row for row in panel["bound"])
                for group in panel.get("subgroups") or []:
                    hidden = [row for row in group["rows"] if row["suppressed"]]
                    assert len(hidden) <= 1 and (not hidden or len(group["rows"]) <= 2)
                    assert all(set(row) == {"suppressed"} for row in hidden)

    check()


# --- the shipped contracts on their synthetic data -------------------------------------------


def _true_included(contract: Any, tables: Any, day: dt.date) -> int | None:
    """The treated participants included on or before ``day``, counted from the rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    declared = contract.data.participants
    if declared is None or tables is None:
        return None
    try:
        people = tables.table("participants")
    except Exception:  # the provider holds no participants
        return None
    mask = pc.less_equal(people.column(declared.date), pa.scalar(day))
    if declared.group is not None:
        mask = pc.and_(mask, pc.equal(people.column(declared.group), declared.treated))
    return int(pc.sum(mask).as_py() or 0)


def _generic_figures(release: dict[str, Any], included: int | None) -> dict[tuple, dict]:
    """Every figure about people in a release, with the counts behind it, read from the JSON:
    the settlement by the true number included, each shown panel's groups, its months'
    ``n``, its subgroup rows, its outcomes and its funnel months."""
    out: dict[tuple, dict] = {}
    settlement = release.get("settlement") or {}
    if included is not None and settlement.get("outputs"):
        out[("settlement",)] = {"n": included}
    for panel in release["panels"]:
        if panel.get("status") != "ok":
            continue
        people = {k: v for k, v in (panel.get("people") or {}).items() if isinstance(v, int)}
        if people:
            out[("panel", panel["id"])] = people
        for row in panel.get("monthly") or []:
            counts = {k: row[k] for k in ("n", "n_contract", "n_reference") if k in row}
            if counts:
                out[("month", panel["id"], str(row["month"]))] = counts
        for group in panel.get("subgroups") or []:
            for row in group.get("rows") or []:
                if not row.get("suppressed"):
                    out[("level", panel["id"], group["column"], row["level"])] = {
                        "t": row["n_treated"],
                        "c": row["n_control"],
                    }
        for row in panel.get("outcomes") or []:
            if not row.get("suppressed") and isinstance(row.get("count"), int):
                out[("outcome", panel["id"], row["outcome"])] = {"n": row["count"]}
        for row in panel.get("funnel") or []:
            counts = {k: v for k, v in row.items() if isinstance(v, int) and k != "month"}
            if counts:
                out[("funnel", panel["id"], row["month"])] = counts
    return out


def _first_day(contract: Any, tables: Any) -> dt.date:
    import pyarrow.compute as pc

    days = []
    for table in contract.data:
        try:
            value = pc.min(tables.table(table.name).column(table.date)).as_py()
        except Exception:  # a table the provider does not hold
            continue
        if value is not None:
            days.append(value)
    return min(days)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from council_helpers import synthetic_data

    return synthetic_data(tmp_path_factory.mktemp("synth"))


def _shipped() -> list[Any]:
    from council_helpers import CONTRACTS

    return [pytest.param(path, id=path.stem) for path in CONTRACTS]


@pytest.mark.slow
@pytest.mark.parametrize("path", _shipped())
def test_differencing_the_shipped_contracts_releases_never_describes_fewer_than_five(
    path, synthetic
):
    """Every shipped contract on its synthetic data, released on each reporting date (the
    first eight) in date order, suppressed as the platform does: every pair of releases,
    every figure shown in both, counts equal or at least five apart."""
    from council_helpers import last_day, tables_for, unbound_facts

    from utfall.adapters.files import contract_read
    from utfall.services.council import dashboard_build
    from utfall.services.council.releases import (
        reporting_dates,
        suppress_differences,
        suppress_small,
    )

    contract = contract_read(path)
    tables = tables_for(contract, synthetic)
    last = last_day(contract, tables)
    periods = list(contract.periods.values())
    if periods:
        start, end = max(p.start for p in periods), max(p.end for p in periods)
    else:  # as the platform: from the first day with data
        start, end = _first_day(contract, tables), last
    dates = reporting_dates(start=start, end=end, last=last)[:8]
    assert dates
    facts = unbound_facts(contract)
    published: list[tuple[dict[str, Any], int | None]] = []
    cells: list[Any] = []
    for day in dates:
        raw = dashboard_build(contract, tables, as_of=day, facts=facts)
        shown, mine = suppress_differences(suppress_small(raw), cells)
        cells.append(mine)
        published.append((shown, _true_included(contract, tables, day)))
    for (a, n_a), (b, n_b) in itertools.combinations(published, 2):
        figures_a, figures_b = _generic_figures(a, n_a), _generic_figures(b, n_b)
        for key in figures_a.keys() & figures_b.keys():
            assert not _few(figures_a[key], figures_b[key]), (a["as_of"], b["as_of"], key)
    for shown, included in published:
        if included is not None and 0 < included < 5:
            assert shown["settlement"]["error"] == "suppressed", shown["as_of"]


def test_a_month_of_means_recomputed_on_two_more_employees_is_withheld():
    """Trend-adjusted months are means per employee: the same month released again with two
    more employees behind it (late rows) would give their days by ``n·mean`` differences;
    the later release leaves it out, and the cumulative figures after it."""
    from utfall.services.council.releases import suppress_differences, suppress_small

    def release(heads: int) -> dict[str, Any]:
        months = [
            {"month": m, "observed": 1.5, "cumulative": 0.1 * m, "n_contract": n, "n_reference": 80}
            for m, n in ((1, 60), (2, heads), (3, 61))
        ]
        panel = {"id": "sick-leave", "kind": "expected_observed", "table": "t", "status": "ok"}
        panel.update(people={"treated": 60, "control": None}, bound=[], monthly=months)
        return {"as_of": "2020-03-31", "participants": None, "settlement": {}, "panels": [panel]}

    first, cells = suppress_differences(suppress_small(release(60)), [])
    again, _ = suppress_differences(suppress_small(release(62)), [cells])
    assert [row["month"] for row in first["panels"][0]["monthly"]] == [1, 2, 3]
    shown = again["panels"][0]["monthly"]
    assert [row["month"] for row in shown] == [1, 3]
    assert shown[1]["cumulative"] is None and shown[0]["cumulative"] == 0.1
