"""Evaluation specs: validation with located errors, data loading, dispatch."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utfall.adapters.files import evaluate_file, read_arrow, spec_read
from utfall.core.evaluation.means import difference_in_means
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, SpecInvalid, UserError
from utfall.services.evaluation import METHODS, evaluate


def load_spec(path: Path):
    return spec_read(path)[0]


@pytest.fixture
def trial(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "school": np.arange(n) % 12,
            "treated": (np.arange(n) % 12 < 6).astype(int),
            "age": rng.integers(18, 60, n),
            "region": np.where(np.arange(n) % 3 == 0, "north", "south"),
        }
    )
    frame["income"] = 100 + 0.5 * frame["age"] + 8 * frame["treated"] + rng.normal(0, 5, n)
    frame.to_csv(tmp_path / "trial.csv", index=False)
    frame.to_parquet(tmp_path / "trial.parquet")
    return frame


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_load_spec_resolves_data_and_collects_options(tmp_path, trial):
    path = write(
        tmp_path,
        """
        data: trial.csv
        method: ipw
        outcome: income
        treatment: treated
        covariates: [age, "I(age**2)"]
        estimand: ATT
        options:
          trim: 0.02
        ci: {method: bootstrap, level: 0.9, reps: 199}
        seed: 7
        """,
    )
    spec = load_spec(path)
    assert spec.data == str((tmp_path / "trial.csv").resolve())
    assert Path(spec.data).is_absolute()
    assert spec.method == "ipw"
    assert spec.covariates == ["age", "I(age**2)"]
    assert spec.options == {"estimand": "ATT", "trim": 0.02}
    assert isinstance(spec.options["trim"], float)
    assert (spec.ci.method, spec.ci.level, spec.ci.reps) == ("bootstrap", 0.9, 199)
    assert spec.seed == 7


def test_unknown_key_names_file_line_and_the_known_keys(tmp_path, trial):
    path = write(
        tmp_path,
        """
        data: trial.csv
        method: difference_in_means
        outcome: income
        treatment: treated
        estimnd: ATT
        """,
    )
    with pytest.raises(SpecInvalid) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:5:")
    assert "'estimnd'" in message and "difference_in_means options: se" in message


def test_bad_option_value_names_the_option(tmp_path, trial):
    path = write(
        tmp_path,
        """
        data: trial.csv
        method: ipw
        outcome: income
        treatment: treated
        covariates: age
        trim: 0.7
        """,
    )
    with pytest.raises(SpecInvalid, match=r"spec\.yaml:6: trim: Input should be less than 0\.5"):
        load_spec(path)


def test_unknown_method_lists_the_known_ones(tmp_path, trial):
    path = write(tmp_path, "data: trial.csv\nmethod: regression_discontinuity\n")
    with pytest.raises(SpecInvalid, match="known: aggregate, did, difference_in_means") as caught:
        load_spec(path)
    assert "trend_adjusted" in str(caught.value)


def test_missing_data_file(tmp_path):
    path = write(tmp_path, "data: nowhere.csv\nmethod: did\n")
    with pytest.raises(SpecInvalid, match=r"spec\.yaml:1: data: .*nowhere\.csv does not exist"):
        load_spec(path)


def test_required_and_unused_keys(tmp_path, trial):
    needs_post = write(
        tmp_path, "data: trial.csv\nmethod: did\noutcome: income\ntreatment: treated\n"
    )
    with pytest.raises(SpecInvalid, match="method did needs 'post'"):
        load_spec(needs_post)
    unused = write(
        tmp_path,
        "data: trial.csv\nmethod: difference_in_means\noutcome: income\ntreatment: treated\n"
        "post: treated\n",
        name="unused.yaml",
    )
    with pytest.raises(SpecInvalid, match="does not use 'post'"):
        load_spec(unused)


def test_yaml_syntax_error_is_located(tmp_path):
    path = write(tmp_path, "data: trial.csv\nmethod: [did\n")
    with pytest.raises(SpecInvalid, match=r"spec\.yaml:\d+"):
        load_spec(path)


def test_missing_spec_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such evaluation spec file"):
        load_spec(tmp_path / "absent.yaml")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_evaluate_matches_the_estimator_on_csv_and_parquet(tmp_path, trial, suffix):
    path = write(
        tmp_path,
        f"""
        data: trial.{suffix}
        method: difference_in_means
        outcome: income
        treatment: treated
        unit: school
        """,
    )
    estimate = evaluate_file(path)
    direct = difference_in_means(trial, outcome="income", treatment="treated", cluster="school")
    assert estimate.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert estimate.std_error == pytest.approx(direct.std_error, rel=1e-12)
    assert estimate.extras["n_clusters"] == 12


def test_unknown_column_names_spec_key_and_data_file(tmp_path, trial):
    path = write(
        tmp_path,
        """
        data: trial.csv
        method: difference_in_means
        outcome: earnings
        treatment: treated
        """,
    )
    with pytest.raises(SpecInvalid) as caught:
        evaluate_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: outcome: column 'earnings' is not in ")
    assert "trial.csv" in message and "income" in message


def test_non_numeric_outcome_names_data_file_line_and_column(tmp_path, trial):
    broken = trial.astype({"income": object})
    broken.loc[41, "income"] = "unknown"
    broken.to_csv(tmp_path / "broken.csv", index=False)
    path = write(
        tmp_path,
        "data: broken.csv\nmethod: difference_in_means\noutcome: income\ntreatment: treated\n",
    )
    with pytest.raises(DataInvalid) as caught:
        evaluate_file(path)
    finding = caught.value.findings[0]
    assert finding.file == str(tmp_path / "broken.csv")
    # Data row 42 is line 43 of the file (after the header).
    assert (finding.row, finding.line, finding.field_name) == (42, 43, "income")
    assert "broken.csv:43 row 42 column 'income'" in str(finding)


def test_treatment_not_zero_one_and_too_few_clusters(tmp_path, trial):
    trial.assign(treated=trial["treated"] * 2).to_csv(tmp_path / "twos.csv", index=False)
    twos = write(
        tmp_path,
        "data: twos.csv\nmethod: difference_in_means\noutcome: income\ntreatment: treated\n",
    )
    with pytest.raises(DataInvalid, match="not 0/1"):
        evaluate_file(twos)
    few = write(
        tmp_path,
        "data: trial.csv\nmethod: difference_in_means\noutcome: income\ntreatment: treated\n"
        "unit: region\n",
        name="few.yaml",
    )
    with pytest.raises(DataInvalid) as caught:
        evaluate_file(few)
    assert caught.value.findings[0].code == "too_few_clusters"
    assert isinstance(caught.value, UserError)


def test_same_spec_and_seed_give_the_same_numbers(tmp_path, trial):
    path = write(
        tmp_path,
        """
        data: trial.csv
        method: difference_in_means
        outcome: income
        treatment: treated
        subgroup: region
        ci: {method: bootstrap, reps: 199}
        seed: 2024
        """,
    )
    first, second = evaluate_file(path).as_dict(), evaluate_file(path).as_dict()
    assert first == second
    assert first["seed"] == 2024
    assert [s["label"] for s in first["subgroups"]] == ["north", "south"]
    spec, tables = spec_read(path)
    other = spec.model_copy(update={"seed": 2025})
    assert evaluate(other, tables).as_dict()["ci_low"] != first["ci_low"]


def test_each_generic_method_runs_from_a_spec(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for unit in range(30):
        group = int(unit < 12)
        base = rng.normal(50, 5)
        for wave in (1, 2):
            rows.append(
                {
                    "id": unit,
                    "wave": wave,
                    "group": group,
                    "post": int(wave == 2),
                    "D": group * int(wave == 2),
                    "age": 20 + unit % 7,
                    "score": base + 2 * wave + 3 * group * (wave == 2) + rng.normal(),
                }
            )
    pd.DataFrame(rows).to_csv(tmp_path / "panel.csv", index=False)
    specs = {
        "did": "treatment: group\npost: post\nunit: id\n",
        "twfe": "treatment: D\nunit: id\ntime: wave\n",
        "pre_post": "unit: id\ntime: wave\nreliability: 0.8\n",
        "ipw": "treatment: D\ncovariates: [age]\n",
        "matching": "treatment: D\ncovariates: [age]\nneighbours: 2\n",
    }
    for method, keys in specs.items():
        path = write(
            tmp_path,
            f"data: panel.csv\nmethod: {method}\noutcome: score\n{keys}",
            name=f"{method}.yaml",
        )
        estimate = evaluate_file(path)
        assert estimate.method == method
        assert np.isfinite(estimate.estimate)
    assert evaluate_file(tmp_path / "did.yaml").estimate == pytest.approx(3.0, abs=1.5)


def test_contract_specific_methods_dispatch_to_the_scale_out_service(tmp_path, trial, monkeypatch):
    import utfall.services.evaluation_scale as scale

    seen = []

    def fake(spec, **given):
        seen.append((spec, sorted(given)))
        return Estimate("trend_adjusted", 1.0, None, None, None, None, None, None, 1)

    monkeypatch.setattr(scale, "run_trend_adjusted", fake)
    (tmp_path / "index.csv").write_text("period,month_index,slt\n", encoding="utf-8")
    path = write(
        tmp_path,
        "data: trial.csv\nmethod: trend_adjusted\noutcome: income\nunit: id\n"
        "trend_index: index.csv\n",
    )
    spec, tables = spec_read(path)
    assert spec.options == {"trend_index": str((tmp_path / "index.csv").resolve())}
    assert evaluate(spec, tables).method == "trend_adjusted"
    assert seen == [(spec, ["data", "trend_index", "where"])]
    assert set(METHODS) >= {"trend_adjusted", "historical_reference", "synthetic_control"}


def test_load_data_refuses_other_formats(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(SpecInvalid, match=r"neither a \.csv nor a \.parquet"):
        read_arrow(tmp_path / "x.xlsx")


def test_a_missing_auxiliary_table_names_the_spec_line(tmp_path, trial):
    path = write(
        tmp_path,
        "data: trial.csv\nmethod: trend_adjusted\noutcome: income\nunit: id\n"
        "options:\n  trend_index: nowhere.parquet\n",
    )
    with pytest.raises(SpecInvalid, match=r"spec\.yaml:6: options\.trend_index: .*nowhere"):
        spec_read(path)
