"""``utfall synth`` through the console script (the progress bar through the installed one)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from utfall.cli import synth as synth_cli
from utfall.cli.main import app
from utfall.errors import UserError
from utfall.synth import DEFAULT_SEED, SCENARIOS, generate


def test_cli_knows_every_scenario_without_importing_the_generators():
    assert set(synth_cli.SCENARIOS) == set(SCENARIOS)
    assert synth_cli.DEFAULT_SEED == DEFAULT_SEED


def test_writes_parquet_and_csv_and_lists_the_tables(utfall, tmp_path):
    result = utfall("synth", "fund", "--out", tmp_path, "--csv", "--size", "4")
    assert result.returncode == 0, result.stderr
    for name in ("constellations", "indicator_reports", "costs"):
        assert name in result.stdout
        assert (tmp_path / f"{name}.parquet").exists()
        assert (tmp_path / f"{name}.csv").exists()
    assert len(pd.read_parquet(tmp_path / "constellations.parquet")) == 4
    assert "manifest.json" in result.stdout


def test_json_manifest_is_deterministic_for_a_seed(utfall, tmp_path):
    first = utfall("synth", "norrkoping", "--out", tmp_path / "a", "--seed", "3", "--json")
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)
    # The same seed in another process (this one) gives the same data.
    b = json.loads(json.dumps(generate("norrkoping", tmp_path / "b", seed=3)))
    assert a == b
    assert a["seed"] == 3 and a["scenario"] == "norrkoping"
    assert a["planted"]["included"] == 60
    costs_a = pd.read_parquet(tmp_path / "a" / "costs.parquet")
    costs_b = pd.read_parquet(tmp_path / "b" / "costs.parquet")
    assert costs_a.equals(costs_b)


def test_big_runs_show_a_progress_bar(utfall_script, tmp_path):
    result = utfall_script("synth", "sick-leave", "--out", tmp_path, "--size", "14000")
    assert result.returncode == 0, result.stderr
    assert "employee months" in result.stderr and "1008000/1008000" in result.stderr
    assert "1,008,000" in result.stdout


def test_user_errors_exit_2_with_one_line(utfall, tmp_path):
    unknown = utfall("synth", "stockholm", "--out", tmp_path)
    assert unknown.returncode == 2
    assert "unknown scenario 'stockholm'" in unknown.stderr
    assert "choose one of: norrkoping, sick-leave" in unknown.stderr
    runner = CliRunner()
    zero = runner.invoke(app, ["synth", "fund", "--out", str(tmp_path), "--size", "0"])
    assert isinstance(zero.exception, UserError) and "--size" in str(zero.exception)
    file = tmp_path / "a-file"
    file.write_text("x")
    clash = runner.invoke(app, ["synth", "fund", "--out", str(file)])
    assert isinstance(clash.exception, UserError) and "not a directory" in str(clash.exception)
