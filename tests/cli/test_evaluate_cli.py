"""``utfall evaluate`` through the console script: installed (the JSON output) and its entry
point in this process (``tests/cli/conftest.py``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

REQUIRED_KEYS = {
    "method",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n_treated",
    "n_control",
    "n_obs",
    "subgroups",
}


@pytest.fixture(scope="module")
def nsw_spec(tmp_path_factory) -> Path:
    import causaldata

    folder = tmp_path_factory.mktemp("nsw")
    causaldata.nsw_mixtape.load_pandas().data.to_csv(folder / "nsw.csv", index=False)
    spec = folder / "nsw.yaml"
    spec.write_text(
        textwrap.dedent(
            """
            data: nsw.csv
            method: difference_in_means
            outcome: re78
            treatment: treat
            subgroup: black
            ci: {method: permutation, reps: 199}
            seed: 11
            """
        ),
        encoding="utf-8",
    )
    return spec


def test_json_output_through_the_console_script(utfall_script, nsw_spec):
    result = utfall_script("evaluate", nsw_spec, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= REQUIRED_KEYS
    assert round(data["estimate"]) == 1794
    assert (data["n_treated"], data["n_control"], data["n_obs"]) == (185, 260, 445)
    assert data["ci_method"] == "permutation" and data["seed"] == 11
    assert 0 < data["p_value"] < 0.05
    assert [s["label"] for s in data["subgroups"]] == ["0", "1"]
    assert all(set(s) >= REQUIRED_KEYS - {"subgroups"} for s in data["subgroups"])


def test_same_seed_same_output(utfall, nsw_spec):
    first, second = utfall("evaluate", nsw_spec, "--json"), utfall("evaluate", nsw_spec, "--json")
    assert first.returncode == 0
    assert (first.returncode, first.stdout, first.stderr) == (
        second.returncode,
        second.stdout,
        second.stderr,
    )


def test_table_output(utfall, nsw_spec):
    result = utfall("evaluate", nsw_spec)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "difference_in_means" in output
    assert "1,794.3" in output
    assert "interval: permutation, seed 11" in output
    assert "note: permutation test with 199 re-drawn assignments" in output


def test_bad_column_exits_2_with_one_clear_line(utfall, nsw_spec, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        f"data: {nsw_spec.parent / 'nsw.csv'}\nmethod: difference_in_means\n"
        "outcome: earnings\ntreatment: treat\n",
        encoding="utf-8",
    )
    result = utfall("evaluate", spec)
    assert result.returncode == 2
    assert "error:" in result.stderr
    assert "outcome: column 'earnings' is not in" in result.stderr
    assert "nsw.csv" in result.stderr
    assert "Traceback" not in result.stderr
