"""The sick-leave contracts' terms as seed 004 writes them (issue 17), on synthetic data.

Seed 004 (../shared/seeds/004_3c57c42b97f7a71d.txt, SKL slide 22, OCR):

* "Minskning av sjukfrånvaro (dag 1-14) … Max((Se − Sn)/Se, 0) där Sn = Σ(i=1..36)
  SLT_r · s_i / SLT_i", "s_i = Antalet nettodagar i varje månad under
  observationsperioden", "SLT_i = Sjukfrånvarotrendfaktorn för varje månad",
  "SLT_r = Sjukfrånvarotrendfaktorn för referensmånaden", "S_e = Förväntat antal
  nettodagar per anställd baserat på referensperioden" — the contracts' default reading A
  (the evaluation's option ``observed_adjusted``); scaling the reference days up is the
  alternative term B.
* "Kostnadsbesparing: Max((Se − Sn) * Värdet på en sjukdag * Anställd, 0)" — the saving.
* "Baseras på: Lönelaget i kommunen, vid referensmätningen; Försäkringskassans
  beräkningsmodell för kostnader för sjukfrånvaro; Viktning av karensdag i förhållande
  till dag 2-14 utifrån faktisk sjukfrånvaro i kommunen under referensperioden" — the
  value of a sick day, calculated in the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.contracts import contract_settle
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]
TOWNS = ("botkyrka", "ornskoldsvik")
READINGS = ("A", "B")
ORE = Decimal("0.01")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sick-leave-seed")
    manifest = generate("sick-leave", out, seed=17, size=1500)
    return out, manifest["planted"]


def settle_on(town: str, out: Path, reading: str) -> Any:
    document = contract_read(ROOT / "examples" / "contracts" / f"sick-leave-{town}.yaml")
    run = contract_settle(
        document, tables=DirectoryTables(out, document.data), overrides={"reading": reading}
    )
    return run


def test_the_seed_reading_is_the_default_in_both_contracts() -> None:
    """Seed 004: S_n = Σ SLT_r · s_i / SLT_i is the contract's formula; the other is a term."""
    for town in TOWNS:
        document = contract_read(ROOT / "examples" / "contracts" / f"sick-leave-{town}.yaml")
        reading = document.parameters["reading"]
        assert reading.default == "A"
        assert set(reading.choices or ()) == set(READINGS)
        evaluation = document.evaluations["sick_leave"]
        assert evaluation.options["reading"] == "observed_adjusted"
        assert document.inputs["observed_days_per_employee"].take == (
            "monthly.raw_observed_days_per_employee"
        )


@pytest.mark.parametrize("town", TOWNS)
def test_both_readings_on_synthetic_data_follow_their_formula(
    town: str,
    synthetic: tuple[Path, dict[str, Any]],
    sick_leave_days: Callable[..., tuple[Fraction, Fraction]],
) -> None:
    """Each reading's outputs recomputed by hand from the series the evaluation hands over,
    and the seed reading's saving near the planted one on the reference basis."""
    out, planted = synthetic
    results = {reading: settle_on(town, out, reading).settlement for reading in READINGS}
    for reading, settlement in results.items():
        given = settlement.inputs
        s_e, s_n = sick_leave_days(given, reading)
        outputs = settlement.outputs
        assert abs(Fraction(outputs["expected_days"]) - s_e) < Fraction(1, 10**30)
        assert abs(Fraction(outputs["observed_days_total"]) - s_n) < Fraction(1, 10**30)
        value = Fraction(outputs["value_per_sick_day_sek"])
        saving = (s_e - s_n) * value * Fraction(given["employees"])
        exact = Decimal(saving.numerator) / Decimal(saving.denominator)
        assert outputs["saving_sek"] == max(exact.quantize(ORE, rounding=ROUND_HALF_UP), 0)
        relative = max((s_e - s_n) / s_e, Fraction(0))
        assert abs(Fraction(outputs["relative_reduction"]) - relative) < Fraction(1, 10**30)
    seed = results["A"].outputs
    other = results["B"].outputs
    # The readings differ on data with a moving trend, and only in how the trend enters.
    assert seed["saving_sek"] != other["saving_sek"]
    assert seed["value_per_sick_day_sek"] == other["value_per_sick_day_sek"]
    assert seed["observed_days_unadjusted"] == other["observed_days_total"]
    wanted = planted["readings"]["observed_adjusted"]
    assert float(seed["reduction_days"]) == pytest.approx(
        wanted["saving_days_per_employee"], rel=0.15
    )
    assert float(seed["relative_reduction"]) == pytest.approx(
        wanted["relative_reduction"], rel=0.15
    )


def test_the_evaluation_reports_the_seed_reading_and_agrees_with_the_settlement(
    synthetic: tuple[Path, dict[str, Any]],
) -> None:
    """The evaluation's own estimate (what the council shows) is on the seed's basis too:
    its saving in days per employee is the contract's reduction_days."""
    out, _ = synthetic
    run = settle_on("botkyrka", out, "A")
    estimate = next(iter(run.evaluations.values()))
    extras = estimate.extras
    assert extras["reading"] == "observed_adjusted"
    per_employee = Decimal(repr(extras["saving_days"])) / Decimal(repr(extras["employees"]))
    assert abs(run.settlement.outputs["reduction_days"] - per_employee) < Decimal("1e-9")
    assert extras["relative_reduction"] == pytest.approx(
        float(run.settlement.outputs["relative_reduction"]), rel=1e-9
    )


@pytest.mark.parametrize(("town", "value"), [("botkyrka", "2167.07"), ("ornskoldsvik", "2106.35")])
def test_the_value_of_a_sick_day_is_calculated_from_its_bases(town: str, value: str) -> None:
    """Seed 004: the salary level at the reference measurement, a cost model (sick pay 80 %,
    employer contributions, production loss) and the qualifying day's weight from the
    reference period. Botkyrka: 29 200 SEK × 12 / 365 = 960 SEK a day, × 1.39 = 1 334.40;
    a qualifying day 1 334.40, a day 2–14 1 334.40 × 1.8 = 2 401.92; weighted 0.22 / 0.78:
    293.568 + 1 873.4976 = 2 167.0656 → 2 167.07 SEK."""
    from utfall.core.contracts import settle
    from utfall.core.contracts.yamlio import read_yaml

    path = ROOT / "examples" / "contracts" / f"sick-leave-{town}.yaml"
    document = contract_read(path)
    facts_path = ROOT / "examples" / "facts" / f"sick-leave-{town}.yaml"
    facts = read_yaml(facts_path.read_text(encoding="utf-8"), source=str(facts_path)).data
    outputs = settle(document, facts).outputs
    assert outputs["value_per_sick_day_sek"] == Decimal(value)
    # A higher salary level at the reference measurement raises the value in proportion.
    doubled = settle(
        document,
        facts,
        overrides={
            "monthly_salary_reference_sek": 2
            * document.parameters["monthly_salary_reference_sek"].default
        },
    ).outputs
    assert abs(doubled["value_per_sick_day_sek"] - 2 * Decimal(value)) <= ORE
    # More qualifying days (which carry no sick pay) lower the value of an average day.
    more_qualifying = settle(document, facts, overrides={"qualifying_day_share": "0.5"}).outputs
    assert more_qualifying["value_per_sick_day_sek"] < outputs["value_per_sick_day_sek"]
    assert more_qualifying["saving_sek"] < outputs["saving_sek"]
