"""Open data of the knowledge platform: the INDIGO 4.1.0 export, suppression, validation."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.adapters.files import contract_read as contract_load
from utfall.adapters.knowledge import knowledge_file_validate, knowledge_file_write, results_read
from utfall.core.contracts import parse_contract
from utfall.errors import DataInvalid, UserError
from utfall.services.knowledge import (
    CSV_COLUMNS,
    MIN_CELL,
    KnowledgeProject,
    ResultRow,
    knowledge_csv,
    knowledge_export,
    knowledge_json_schema,
    knowledge_render,
    knowledge_validate,
    knowledge_validate_text,
    project_document,
    provision_periods,
    results_parse,
    suppress_results,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted((ROOT / "examples" / "contracts").glob("*.yaml"))
FUND = ROOT / "examples" / "contracts" / "national-fund-constellation.yaml"
H1 = (date(2024, 1, 1), date(2024, 6, 30))


def _project(contract, rows=(), **kwargs):
    return project_document(
        KnowledgeProject(contract, results=rows, **kwargs), published=date(2026, 12, 1)
    )


def _document(rows=()):
    """A package holding the fund constellation's project."""
    return knowledge_export(
        [KnowledgeProject(contract_load(FUND), results=rows)], published=date(2026, 12, 1)
    )


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_every_reference_contract_exports_valid_open_data(path):
    contract = contract_load(path)
    project = _project(contract)
    assert knowledge_validate(project) == []
    # INDIGO structure: values wrapped, outcome metrics are the contract's inputs (then the
    # evaluations it follows without paying on them).
    assert project["name"] == {"value": " ".join(contract.title.split())}
    assert [m["id"] for m in project["outcome_metrics"]][: len(contract.inputs)] == list(
        contract.inputs
    )
    extension = project["utfall_extension"]
    assert {f["name"] for f in extension["formulas"]} == set(contract.outputs)
    assert all(f["plain_sv"] and f["plain_en"] for f in extension["formulas"])


def test_roles_land_in_the_indigo_sections():
    project = _project(contract_load(FUND))
    payers = [e["organisation_id"]["value"] for e in project["outcome_payment_commitments"]]
    assert payers == ["delegation", "lead-municipality", "partner-region"]
    assert [e["organisation_id"]["value"] for e in project["intermediary_services"]] == [
        "skr",
        "rise",
    ]
    norrkoping = _project(
        contract_load(ROOT / "examples/contracts/norrkoping-placed-children.yaml")
    )
    assert norrkoping["investments"] and norrkoping["service_provisions"]
    assert norrkoping["dates"]["start_date_of_service_provision"] == {
        "value": "2016-02-15",
        "status": "PUBLIC",
    }


def test_schema_file_in_docs_is_the_generated_schema():
    on_disk = json.loads((ROOT / "docs" / "knowledge.schema.json").read_text(encoding="utf-8"))
    assert on_disk == knowledge_json_schema()


def test_primary_suppression():
    rows = [
        ResultRow("m", *H1, n=4, count=2),
        ResultRow("m", *H1, n=100, count=3, group="a"),
        ResultRow("m", *H1, n=100, count=97, group="b"),
        ResultRow("m", *H1, n=100, count=40, group="c"),
        ResultRow("m", *H1, n=5, count=None, group="d"),
    ]
    published = suppress_results(rows)
    assert [p.suppressed for p in published] == [True, True, True, False, False]
    assert published[0].n is None and published[0].count is None
    assert "did not reach" in published[2].reason
    assert str(published[3].share) == "0.4000"


def test_complementary_suppression_with_a_total():
    rows = [
        ResultRow("m", *H1, n=120, count=30),
        ResultRow("m", *H1, n=3, count=1, group="girls"),
        ResultRow("m", *H1, n=60, count=15, group="boys"),
        ResultRow("m", *H1, n=57, count=14, group="other"),
    ]
    published = suppress_results(rows)
    assert [p.suppressed for p in published] == [False, True, False, True]
    assert "derived" in published[3].reason


cells = st.integers(min_value=0, max_value=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=6))
def test_no_published_cell_is_small_and_no_withheld_group_can_be_derived(groups):
    rows = [ResultRow("m", *H1, n=n + c, count=c, group=f"g{i}") for i, (n, c) in enumerate(groups)]
    total_n = sum(r.n for r in rows)
    total_count = sum(r.count for r in rows)
    rows.append(ResultRow("m", *H1, n=total_n, count=total_count))
    published = suppress_results(rows)
    for p in published:
        if not p.suppressed:
            assert p.n >= MIN_CELL and p.count >= MIN_CELL and p.n - p.count >= MIN_CELL
    total = published[-1]
    withheld = [p for p in published[:-1] if p.suppressed]
    if not total.suppressed:
        assert len(withheld) != 1


def test_results_for_unknown_metrics_are_refused():
    with pytest.raises(UserError, match="does not have: nonsense"):
        _project(contract_load(FUND), [ResultRow("nonsense", *H1, n=50)])


def test_exported_results_never_carry_small_cells():
    rows = [
        ResultRow("school_absence_units", *H1, n=200, count=60),
        ResultRow("criminal_group_inflow_units", *H1, n=200, count=3),
    ]
    document = _document(rows)
    assert knowledge_validate(document) == []
    text = json.dumps(document)
    results = document["projects"][0]["results"]
    assert results[1]["utfall_extension"]["suppressed"] is True
    assert results[1]["notes"].startswith("Withheld")
    assert "number_with_positive_social_outcomes" not in results[1]
    assert '"value": 3}' not in text


def test_validation_locates_every_problem():
    document = _document([ResultRow("school_absence_units", *H1, n=200, count=60)])
    broken = copy.deepcopy(document)
    project = broken["projects"][0]
    project["name"] = {"value": ""}
    project["stage_development"] = {"value": "Dreaming", "status": "PUBLIC"}
    project["results"][0]["number_with_positive_social_outcomes"] = {"value": 3}
    project["results"][0]["outcome_metric_id"] = {"value": "nope"}
    project["service_provisions"] = [{"organisation_id": {"value": "ghost"}}]
    findings = knowledge_validate(broken, file="k.json")
    paths = {f.path for f in findings}
    assert "projects[0].name.value" in paths
    assert "projects[0].stage_development.value" in paths
    assert "projects[0].results[0].number_with_positive_social_outcomes.value" in paths
    assert "projects[0].results[0].outcome_metric_id.value" in paths
    assert "projects[0].service_provisions[0].organisation_id.value" in paths
    assert all(f.file == "k.json" for f in findings)
    small = [f for f in findings if "fewer than 5" in f.message]
    assert small


def test_withheld_rows_with_numbers_are_invalid():
    document = _document([ResultRow("school_absence_units", *H1, n=200, count=3)])
    result = document["projects"][0]["results"][0]
    result["number_engaged_in_impact_bond"] = {"value": 200}
    findings = knowledge_validate(document)
    assert any(f.path == "projects[0].results[0]" for f in findings)


def test_csv_has_one_row_per_metric_and_result_and_validates(tmp_path):
    rows = [
        ResultRow("school_absence_units", *H1, n=200, count=60),
        ResultRow("school_absence_units", date(2024, 7, 1), date(2024, 12, 31), n=200, count=70),
        ResultRow("risk_zone_units", *H1, n=3, count=1),
    ]
    text = knowledge_csv(_document(rows))
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == list(CSV_COLUMNS)
    assert len(table) == 9 + 1  # 9 inputs (outcome metrics), one with two results
    absence = [r for r in table if r["outcome_metric_id"] == "school_absence_units"]
    assert [r["number_with_positive_social_outcomes"] for r in absence] == ["60", "70"]
    risk = next(r for r in table if r["outcome_metric_id"] == "risk_zone_units")
    assert risk["suppressed"] == "true" and risk["number_engaged_in_impact_bond"] == ""
    path = tmp_path / "k.csv"
    path.write_text(text, encoding="utf-8")
    assert knowledge_file_validate(path) == []
    tampered = text.replace(",200,70,", ",200,197,")
    path.write_text(tampered, encoding="utf-8")
    findings = knowledge_file_validate(path)
    assert [(f.row, f.field_name, f.code) for f in findings] == [
        (5, "number_with_positive_social_outcomes", "small-cell")
    ]


def test_results_file_errors_are_located(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(
        "outcome_metric_id,period_start,period_end,group,n,count\n"
        "school_absence_units,2024-01-01,2024-06-30,all,200,60\n"
        ",2024-13-01,2024-06-30,all,x,3\n"
        "risk_zone_units,2024-01-01,2023-06-30,all,10,11\n",
        encoding="utf-8",
    )
    with pytest.raises(DataInvalid) as caught:
        results_read(path)
    assert all(f.file == str(path) for f in caught.value.findings)
    located = {(f.row, f.field_name) for f in caught.value.findings}
    assert located == {
        (3, "outcome_metric_id"),
        (3, "period_start"),
        (3, "n"),
        (4, "period_end"),
        (4, "count"),
    }


def test_export_writes_valid_json_and_csv(tmp_path):
    results = results_parse(
        "outcome_metric_id,period_start,period_end,n,count\n"
        "school_absence_units,2024-01-01,2024-06-30,200,60\n",
        source="results.csv",
    )
    fund = contract_load(FUND)
    document = knowledge_export(
        [KnowledgeProject(fund, results=results)], published=date(2026, 1, 1)
    )
    assert document["projects"][0]["utfall_extension"]["sha256"] == fund.sha256
    out = knowledge_file_write(document, tmp_path / "fund.json")
    assert json.loads(out.read_text(encoding="utf-8")) == document
    assert knowledge_file_validate(out) == []
    out_csv = knowledge_file_write(document, tmp_path / "fund.csv")
    assert out_csv.read_text(encoding="utf-8") == knowledge_render(document, "csv")
    assert knowledge_file_validate(out_csv) == []
    with pytest.raises(UserError, match=r"\.json or \.csv"):
        knowledge_file_write(document, tmp_path / "fund.xml")
    assert not (tmp_path / "fund.xml").exists()
    with pytest.raises(UserError, match="open data is written as json or csv"):
        knowledge_render(document, "xml")


def test_the_export_of_several_projects_is_one_valid_document():
    projects = [KnowledgeProject(contract_load(path)) for path in CONTRACTS]
    document = knowledge_export(projects, published=date(2026, 1, 1), publisher="p")
    assert [p["utfall_extension"]["contract_id"] for p in document["projects"]] == [
        p.contract.id for p in projects
    ]
    for project in document["projects"]:  # each project names its own organisations
        organisations = [o["id"] for o in project["organisations"]]
        assert organisations == [p["id"] for p in project["utfall_extension"]["parties"]]
    text = knowledge_render(document, "json")
    assert knowledge_validate_text(text, source="all.json") == []
    broken = text.replace('"status": "PUBLIC"', '"status": "SECRET"', 1)
    (finding,) = knowledge_validate_text(broken, source="all.json")
    assert finding.path == "projects[0].status" and finding.file == "all.json"
    assert knowledge_validate_text("{", source="x.json")[0].code == "json-syntax"


# A contract no code of utfall knows: a baseline year, two delivery years, one evaluation.
UNKNOWN = """\
id: reading-recovery
title: Reading recovery, a contract nobody's code knows
version: "1"
currency: SEK
rounding: half_up
parties:
  - {id: city, name: The city, role: commissioner}
  - {id: bank, name: The bank, role: financier}
  - {id: reviewer, name: The reviewer, role: evaluator}
periods:
  before: {start: 2020-01-01, end: 2020-12-31}
  year_one: {start: 2021-01-01, end: 2021-12-31}
  year_two: {start: 2022-01-01, end: 2022-12-31}
data:
  participants:
    label: {sv: Elever, en: Pupils}
    unit: {sv: elev, en: pupil}
    inclusion: started_on
    columns:
      started_on: {type: date, label: {sv: Start, en: Start}}
  tables:
    scores:
      kind: measurements
      label: {sv: Läsprov, en: Reading tests}
      date: tested_on
      columns:
        tested_on: {type: date, label: {sv: Provdatum, en: Test date}}
        score: {type: decimal, label: {sv: Poäng, en: Score}}
evaluations:
  reading:
    label: {sv: Läsning före och efter, en: Reading before and after}
    method: aggregate
    table: scores
    outcome: score
    periods: [before, year_one, year_two]
    options: {statistic: mean}
inputs:
  reading_score:
    type: number
    description: Mean reading score.
    evaluate: reading
    take: value
  pupils_reached: {type: count}
outputs:
  paid_sek: {type: money, formula: round(reading_score * 1000)}
payments:
  - {id: outcome, payer: city, payee: bank, amount: paid_sek, label: Outcome payment}
"""


def test_service_dates_leave_out_the_periods_an_evaluation_compares_against():
    contract = parse_contract(UNKNOWN, source="reading-recovery.yaml")
    assert list(provision_periods(contract)) == ["year_one", "year_two"]
    project = _project(contract)
    assert project["dates"] == {
        "start_date_of_service_provision": {"value": "2021-01-01", "status": "PUBLIC"},
        "anticipated_end_date_of_service_provision": {"value": "2022-12-31", "status": "PUBLIC"},
        "anticipated_duration_of_service_provision": {"value": 24, "status": "PUBLIC"},
        "anticipated_completion_date": {"value": "2022-12-31", "status": "PUBLIC"},
        "source_ids": "source-contract",
    }
    for path in CONTRACTS:
        reference = contract_load(path)
        kept = provision_periods(reference)
        assert set(kept) <= set(reference.periods) and (kept or not reference.periods)
        for name in set(reference.periods) - set(kept):
            assert any(
                name in spec.periods and len(spec.periods) > 1
                for spec in reference.evaluations.values()
            )


def test_outcome_metrics_say_how_and_on_what_data_they_are_validated():
    contract = parse_contract(UNKNOWN, source="reading-recovery.yaml")
    document = knowledge_export(
        [KnowledgeProject(contract)], published=date(2026, 1, 1), single=True
    )
    metrics = {m["id"]: m for m in document["outcome_metrics"]}
    assert metrics["reading_score"]["outcome_validation_method"] == {
        "value": "utfall evaluation reading: aggregate (Reading before and after)"
    }
    assert metrics["reading_score"]["data_source_for_outcome_validation"] == {
        "value": "Reading tests (scores)"
    }
    assert "outcome_validation_method" not in metrics["pupils_reached"]
