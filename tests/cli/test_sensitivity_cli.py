"""``utfall evaluate`` with a ``sensitivity:`` block (Rambachan–Roth), through the console
script. The intervals are the HonestDiD README's (see tests/core/evaluation/test_sensitivity.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def medicaid_folder(tmp_path_factory) -> Path:
    import moderndid

    folder = tmp_path_factory.mktemp("medicaid")
    data = moderndid.load_ehec().to_pandas()
    data = data[(data.year < 2016) & (data.yexp2.isna() | (data.yexp2 != 2015))].copy()
    data["treated"] = ((data.yexp2 == 2014) & (data.year >= 2014)).astype(int)
    data.to_csv(folder / "ehec.csv", index=False)
    return folder


def _spec(folder: Path, body: str) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text(textwrap.dedent(body), encoding="utf-8")
    return spec


def test_smoothness_sensitivity_in_json(utfall, medicaid_folder):
    spec = _spec(
        medicaid_folder,
        """
        data: ehec.csv
        method: twfe
        outcome: dins
        treatment: treated
        unit: stfips
        time: year
        event_study: true
        sensitivity: {method: smoothness, grid: [0, 0.01, 0.02, 0.03]}
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    sensitivity = data["sensitivity"]
    assert sensitivity == data["extras"]["sensitivity"]
    assert sensitivity["method"] == "smoothness" and sensitivity["ci_method"] == "FLCI"
    # HonestDiD README, delta_sd_results: M = 0 → [0.0259, 0.0607]; zero enters at 0.03.
    first = sensitivity["intervals"][0]
    assert first["ci_low"] == pytest.approx(0.0259, abs=1e-4)
    assert first["ci_high"] == pytest.approx(0.0607, abs=5e-4)
    assert sensitivity["breakdown"] == pytest.approx(0.02)


def test_sensitivity_on_a_method_without_event_study_exits_2(utfall, medicaid_folder):
    spec = _spec(
        medicaid_folder,
        """
        data: ehec.csv
        method: twfe
        outcome: dins
        treatment: treated
        unit: stfips
        time: year
        sensitivity: {method: relative_magnitude}
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 2
    assert "event_study: true" in result.stderr


def test_unknown_restriction_exits_2(utfall, medicaid_folder):
    spec = _spec(
        medicaid_folder,
        """
        data: ehec.csv
        method: twfe
        outcome: dins
        treatment: treated
        unit: stfips
        time: year
        event_study: true
        sensitivity: {method: wishful}
        """,
    )
    result = utfall("evaluate", spec, "--json")
    assert result.returncode == 2
    assert "sensitivity" in result.stderr
