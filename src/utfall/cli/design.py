"""``utfall design SPEC.yaml [--json]``: what a planned evaluation can detect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from utfall.cli.output import console, print_json
from utfall.errors import UserError

__all__ = ["register"]


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _render(figures: dict[str, Any], risk: dict[str, Any] | None) -> None:
    table = Table(title=f"design: {figures['method']}", title_justify="left", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in (
        "n_per_group",
        "n_control",
        "n_total",
        "clusters_per_group",
        "design_effect",
        "n_per_group_individual",
        "power",
        "target_power",
        "alpha",
        "effect",
        "effect_size",
        "mde",
        "mde_effect_size",
        "sd",
        "n_reference",
    ):
        if figures.get(key) is not None:
            table.add_row(key, _number(figures[key]))
    console.print(table)
    for note in figures.get("notes", []):
        console.print(f"note: {note}")
    if risk is None:
        return
    rows = Table(
        title=f"payment risk ({risk['reps']} draws per effect, seed {risk['seed']})",
        title_justify="left",
    )
    for column in ("true effect", "payment", "P(triggered)", "mean", "5 %", "median", "95 %"):
        rows.add_column(column, justify="left" if column == "payment" else "right")
    for row in risk["rows"]:
        rows.add_row(
            _number(row["effect"]),
            row["payment"],
            f"{row['probability_triggered']:.3f}",
            row["mean_sek"],
            row["p05_sek"],
            row["median_sek"],
            row["p95_sek"],
        )
    console.print(rows)
    for payment, value in risk["payer_risk"].items():
        console.print(f"payer's risk ({payment} paid at no effect): {value:.3f}")
    for payment, value in risk["investor_risk"].items():
        console.print(f"investor's risk ({payment} not paid at the design effect): {value:.3f}")


def register(app: typer.Typer) -> None:
    """Add ``utfall design``."""

    @app.command("design")
    def design_command(
        spec: Annotated[Path, typer.Argument(help="Design spec (YAML).")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
        chart: Annotated[
            Path | None,
            typer.Option("--chart", help="Write the power curve (Vega-Lite JSON) here."),
        ] = None,
        contract: Annotated[
            Path | None,
            typer.Option("--contract", help="Simulate the payments of this contract."),
        ] = None,
        evaluation: Annotated[
            str | None, typer.Option("--evaluation", "-e", help="The contract's evaluation.")
        ] = None,
        facts: Annotated[
            Path | None,
            typer.Option("--facts", help="The other inputs (default: the first test case)."),
        ] = None,
        reps: Annotated[int | None, typer.Option("--reps", help="Draws per true effect.")] = None,
        seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draws.")] = None,
    ) -> None:
        """Minimum detectable effect, units needed and power of a planned evaluation.

        The spec names the method (difference_in_means, proportions, did, twfe,
        historical_reference, trend_adjusted), alpha, power and the effect
        (effect_size, or effect with sd); see docs/evaluation.md, "The design stage".
        With --contract and --evaluation the evaluation is simulated under a range
        of true effects and the contract settled on each figure: the probability that
        each payment is triggered, and what it pays.
        """
        from utfall.adapters.design_files import design_spec_read
        from utfall.core.design import power_curve_chart
        from utfall.services.design import contract_payment_risk, design_run

        if (contract is None) != (evaluation is None):
            raise UserError("--contract and --evaluation go together")
        parsed, tables = design_spec_read(spec)
        risk = None
        if contract is not None and evaluation is not None:
            from utfall.adapters.files import contract_read, facts_read

            document = contract_read(contract)
            base = dict(facts_read(facts).values) if facts is not None else None
            figures, payment = contract_payment_risk(
                document, evaluation, parsed, facts=base, reps=reps, seed=seed, tables=tables
            )
            risk = payment.as_dict()
        else:
            if facts is not None or reps is not None:
                raise UserError("--facts and --reps need --contract and --evaluation")
            figures = design_run(parsed, tables)
        result = figures.as_dict()
        if chart is not None:
            if not figures.curve:
                raise UserError(f"{spec}: no power curve: give the effect or n_per_group")
            chart.write_text(json.dumps(power_curve_chart(figures), indent=2), encoding="utf-8")
        if as_json:
            print_json({**result, "payment_risk": risk} if risk is not None else result)
        else:
            _render(result, risk)
