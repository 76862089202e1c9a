"""``utfall synth SCENARIO --out DIR``: synthetic data for the reference contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from utfall.errors import UserError

__all__ = ["register"]

# Kept here (and checked against utfall.synth.SCENARIOS by a test) so that every
# other ``utfall`` command starts without importing numpy and pyarrow.
SCENARIOS = (
    "norrkoping",
    "sick-leave",
    "early-support",
    "collective-impact",
    "fund",
    "ips",
    "homeless-families",
    "diabetes",
)
DEFAULT_SEED = 2016

# Below this many rows a run takes about a second; a bar would only flicker.
PROGRESS_MIN_ROWS = 1_000_000
ROWS_PER_UNIT = {
    "sick-leave": 72,
    "norrkoping": 48,
    "early-support": 5,
    "collective-impact": 2,
    "fund": 33,
    "ips": 4,
    "homeless-families": 3,
    "diabetes": 2,
}


class _RichProgress:
    """Adapts a Rich progress bar to ``utfall.synth.ProgressReporter``."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, description: str, total: int) -> None:
        self._task = self._progress.add_task(description, total=total)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, rows)


def _synth(
    scenario: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write into.")],
    seed: Annotated[int, typer.Option(help="Random seed; equal seeds give equal data.")] = (
        DEFAULT_SEED
    ),
    size: Annotated[
        int | None,
        typer.Option(
            help="Scenario size: included children (norrkoping, default 60), employees "
            "(sick-leave, default 10,000), reporting periods (early-support, default 4), "
            "solution proposals (collective-impact, default 8), "
            "constellations (fund, default 10), participants (ips, default 300), "
            "households (homeless-families, default 200), participants (diabetes, default 300).",
            show_default=False,
        ),
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV next to Parquet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    contract_tables: Annotated[
        bool,
        typer.Option(
            "--contract-tables/--no-contract-tables",
            help="Also write the reference contract's declared tables (CSV, by table name), "
            "which `utfall settle --data-dir` reads and the platform imports.",
        ),
    ] = True,
) -> None:
    """Write synthetic data for a reference contract (Parquet, optionally CSV)."""
    from utfall.synth import NullProgress, generate

    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if size is not None and size < 1:
        raise UserError(f"--size must be at least 1, got {size}")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    console = Console(stderr=True)
    expected_rows = (size or 0) * ROWS_PER_UNIT.get(scenario, 1)
    show_bar = expected_rows >= PROGRESS_MIN_ROWS and not as_json

    def run(progress: Any) -> dict[str, Any]:
        return generate(
            scenario,
            out,
            seed=seed,
            size=size,
            csv=csv,
            progress=progress,
            contract_tables=contract_tables,
        )

    if show_bar:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        with bar:
            manifest = run(_RichProgress(bar))
    else:
        manifest = run(NullProgress())

    if as_json:
        typer.echo(json.dumps(manifest, indent=2, sort_keys=True))
        return
    table = Table(title=f"utfall synth {scenario} → {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("files")
    for name, info in manifest["tables"].items():
        files = info["file"] + (f", {info['csv_file']}" if "csv_file" in info else "")
        table.add_row(name, f"{info['rows']:,}", files)
    Console().print(table)
    Console().print(f"seed {seed}; planted effects in {out / 'manifest.json'}")


def register(app: typer.Typer) -> None:
    """Add ``utfall synth`` to the app."""
    app.command("synth")(_synth)
