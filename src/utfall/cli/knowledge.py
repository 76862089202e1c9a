"""``utfall knowledge …``: export published contracts as open data and validate such files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utfall.cli.output import console, print_json
from utfall.errors import UserError
from utfall.services.knowledge import STAGES, knowledge_json_schema

knowledge_app = typer.Typer(
    help="Open data of the knowledge platform (aligned with INDIGO): export and validate.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``utfall knowledge`` to the app."""
    app.add_typer(knowledge_app, name="knowledge")


@knowledge_app.command("validate")
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="Knowledge files (.json, or the .csv export).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check knowledge documents; list every problem with its location (exit 2 if any)."""
    from utfall.adapters.knowledge import knowledge_file_validate

    report = []
    for file in files:
        try:
            findings = knowledge_file_validate(file)
        except UserError as error:
            report.append(
                {
                    "file": str(file),
                    "valid": False,
                    "findings": [{"code": "unreadable", "message": str(error)}],
                }
            )
            if not as_json:
                console.print(f"[red]✗[/] {escape(str(error))}")
            continue
        report.append(
            {"file": str(file), "valid": not findings, "findings": [f.as_dict() for f in findings]}
        )
        if as_json:
            continue
        if findings:
            console.print(f"[red]✗[/] {escape(str(file))}: {len(findings)} problem(s)")
            for finding in findings:
                console.print(f"  [red]•[/] {escape(str(finding))}")
        else:
            console.print(f"[green]✓[/] {escape(str(file))}: valid")
    if as_json:
        print_json(report)
    if not all(entry["valid"] for entry in report):
        raise typer.Exit(2)


@knowledge_app.command("export")
def export(
    contract: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Write to FILE.json or FILE.csv.")],
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Aggregated results CSV (outcome_metric_id, period_start, period_end, group, "
            "n, count); small cells are withheld.",
        ),
    ] = None,
    stage: Annotated[
        str, typer.Option("--stage", help="INDIGO stage of development: " + ", ".join(STAGES))
    ] = "Contracted",
    policy_sector: Annotated[
        str | None, typer.Option("--policy-sector", help="INDIGO policy sector, e.g. Education.")
    ] = None,
    published: Annotated[
        str | None, typer.Option("--published", help="Publication date (default: today).")
    ] = None,
) -> None:
    """Export a contract and its aggregated results as open data (JSON or CSV by suffix)."""
    from utfall.adapters.files import contract_read
    from utfall.adapters.knowledge import knowledge_file_format, knowledge_file_write, results_read
    from utfall.services.knowledge import KnowledgeProject, knowledge_export

    try:
        day = date.fromisoformat(published) if published else date.today()
    except ValueError:
        raise UserError(f"--published {published!r}: write a date as YYYY-MM-DD") from None
    try:
        knowledge_file_format(out)
    except UserError:
        raise UserError(f"--out {out}: name a .json or .csv file") from None
    project = KnowledgeProject(
        contract=contract_read(contract),
        results=results_read(results) if results is not None else (),
        stage=stage,
        policy_sector=policy_sector,
    )
    document = knowledge_export([project], published=day)
    knowledge_file_write(document, out)
    exported = document["projects"][0]
    withheld = sum(1 for r in exported["results"] if r["utfall"]["suppressed"])
    console.print(
        f"[green]✓[/] {escape(str(out))}: {exported['id']} — "
        f"{len(exported['outcome_metrics'])} outcome metrics, {len(exported['results'])} results "
        f"({withheld} withheld as small cells)"
    )


@knowledge_app.command("schema")
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of knowledge documents."""
    text = json.dumps(knowledge_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
