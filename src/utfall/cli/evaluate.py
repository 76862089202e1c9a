"""``utfall evaluate SPEC.yaml [--json]``: run an evaluation spec."""

from __future__ import annotations

import json
import math
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
        if not math.isfinite(value):
            return "–"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.1f}"
        if magnitude >= 1 or magnitude == 0:
            return f"{value:.3f}"
        return f"{value:.4g}"
    return str(value)


def _p_value(value: Any) -> str:
    if value is None:
        return "–"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _render(result: dict[str, Any]) -> None:
    level = result.get("level") or 0.95
    title = f"{result['method']}: {result.get('estimand') or 'estimate'}"
    caption = f"interval: {result.get('ci_method')}"
    if result.get("seed") is not None:
        caption += f", seed {result['seed']}"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("group")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    table.add_column(f"{level:.0%} CI", justify="right")
    table.add_column("p", justify="right")
    table.add_column("treated", justify="right")
    table.add_column("control", justify="right")
    table.add_column("obs", justify="right")
    rows = [("all", result), *[(s.get("label") or "?", s) for s in result.get("subgroups", [])]]
    for label, row in rows:
        interval = (
            f"{_number(row.get('ci_low'))} – {_number(row.get('ci_high'))}"
            if row.get("ci_low") is not None or row.get("ci_high") is not None
            else "–"
        )
        table.add_row(
            str(label),
            _number(row.get("estimate")),
            _number(row.get("std_error")),
            interval,
            _p_value(row.get("p_value")),
            _number(row.get("n_treated")),
            _number(row.get("n_control")),
            _number(row.get("n_obs")),
        )
    console.print(table)
    if result.get("outcome"):
        console.print(f"outcome: {result['outcome']}")
    scalars = {
        k: v
        for k, v in (result.get("extras") or {}).items()
        if isinstance(v, (int, float, str, bool)) and k != "analytic_std_error"
    }
    if scalars:
        console.print(
            "details: " + ", ".join(f"{k} = {_number(v)}" for k, v in sorted(scalars.items()))
        )
    _render_event_study(result)
    for note in result.get("notes", []):
        console.print(f"note: {note}")
    sensitivity = result.get("sensitivity")
    if isinstance(sensitivity, dict):
        from utfall.core.evaluation.sensitivity import sensitivity_explanation

        for key, value in sensitivity_explanation(sensitivity).items():
            console.print(f"{key.replace('_', ' ')}: {value}")


def _render_event_study(result: dict[str, Any]) -> None:
    rows = result.get("event_study")
    if not rows:
        return
    extras = result.get("extras") or {}
    reference = extras.get("event_study_reference")
    table = Table(
        title="event study: effect by period relative to adoption",
        title_justify="left",
        caption=f"reference period {reference}" if reference is not None else None,
        caption_justify="left",
    )
    for heading in ("period", "estimate", "std. error", "interval"):
        table.add_column(heading, justify="right")
    for row in rows:
        low, high = row.get("ci_low"), row.get("ci_high")
        interval = (
            f"{_number(low)} – {_number(high)}" if low is not None or high is not None else "–"
        )
        period = str(row["relative_period"]) + (
            " (ref.)" if row["relative_period"] == reference else ""
        )
        table.add_row(period, _number(row.get("estimate")), _number(row.get("std_error")), interval)
    console.print(table)
    test = extras.get("pre_trend_test")
    if isinstance(test, dict) and test.get("p_value") is not None:
        console.print(
            f"pre-trend test: statistic {_number(test.get('statistic'))}, "
            f"{test.get('df')} leads, p = {_p_value(test.get('p_value'))}"
        )


def _write_chart(path: Path, result: dict[str, Any], language: str, source: str) -> None:
    """Write the Vega-Lite spec of the result's event study to ``path``."""
    if language not in ("sv", "en"):
        raise UserError(f"--chart-language: {language!r} is not sv or en")
    rows = result.get("event_study")
    if not rows:
        raise UserError(
            f"{source}: --chart draws an event study, and this {result['method']} result has "
            "none (set event_study: true for twfe, or use staggered_did)"
        )
    from utfall.platform.council.event_study_chart import event_study_chart

    reference = (result.get("extras") or {}).get("event_study_reference")
    spec = event_study_chart(rows, reference=reference, language=language)
    path.write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add ``utfall evaluate``."""

    @app.command("evaluate")
    def evaluate(
        spec: Annotated[
            Path, typer.Argument(help="Evaluation spec (YAML), or a contract with --data-dir.")
        ],
        data_dir: Annotated[
            Path | None,
            typer.Option(
                "--data-dir", help="Evaluate the contract's evaluations on the tables here."
            ),
        ] = None,
        evaluation: Annotated[
            list[str] | None,
            typer.Option(
                "--evaluation", "-e", help="With a contract: only this evaluation (repeatable)."
            ),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the result as JSON for machines.")
        ] = False,
        chart: Annotated[
            Path | None,
            typer.Option(
                "--chart",
                help="Write the event study's Vega-Lite chart (JSON) to this file.",
            ),
        ] = None,
        chart_language: Annotated[
            str, typer.Option("--chart-language", help="The chart's labels: sv or en.")
        ] = "sv",
    ) -> None:
        """Run the estimator an evaluation spec names and show the estimate.

        A spec file names the data (CSV or Parquet, relative to the spec file), the
        method (difference_in_means, did, twfe, staggered_did, ipw, matching, pre_post,
        synthetic_control, trend_adjusted, historical_reference), the columns and the
        inference; see docs/evaluation.md. --chart writes the Vega-Lite chart of an event
        study (twfe with event_study: true, staggered_did). With --data-dir the file is a
        contract: its evaluations run on its declared tables in that folder.
        """
        if data_dir is None:
            if evaluation:
                raise UserError("--evaluation needs a contract and --data-dir")
            from utfall.adapters.files import spec_read
            from utfall.services.evaluation import evaluate as run

            parsed, tables = spec_read(spec)
            result = run(parsed, tables).as_dict()
            if chart is not None:
                _write_chart(chart, result, chart_language, str(spec))
            if as_json:
                print_json(result)
            else:
                _render(result)
            return
        from utfall.adapters.files import DirectoryTables, contract_read
        from utfall.services.bindings import evaluations_run

        contract = contract_read(spec)
        names = list(evaluation or contract.evaluations)
        unknown = [n for n in names if n not in contract.evaluations]
        if unknown:
            raise UserError(
                f"{spec}: no evaluation {unknown[0]!r}; the contract has: "
                f"{', '.join(contract.evaluations) or 'none'}"
            )
        estimates, _digests = evaluations_run(
            contract, DirectoryTables(data_dir, contract.data), names
        )
        if as_json:
            print_json({name: estimate.as_dict() for name, estimate in estimates.items()})
            return
        for name, estimate in estimates.items():
            console.print(f"[bold]{name}[/]")
            _render(estimate.as_dict())
