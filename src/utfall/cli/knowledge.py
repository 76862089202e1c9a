"""``utfall knowledge …``: export contracts and the fund as open data (INDIGO 4.1.0) and
validate such files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utfall.cli.output import console, print_json
from utfall.errors import UserError
from utfall.services.knowledge import INDIGO_VERSION, STAGES, knowledge_json_schema

knowledge_app = typer.Typer(
    help=f"Open data of the knowledge platform (INDIGO {INDIGO_VERSION}): export and validate.",
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


def _published(published: str | None) -> date:
    try:
        return date.fromisoformat(published) if published else date.today()
    except ValueError:
        raise UserError(f"--published {published!r}: write a date as YYYY-MM-DD") from None


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
    bundles: Annotated[
        list[Path] | None,
        typer.Option(
            "--bundle",
            help="A signed settlement bundle of the contract (utfall settle --sign --bundle); "
            "its payments become the project's outcome payments and transactions. Repeatable.",
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
    """Export a contract as one INDIGO project document (JSON), or its CSV table."""
    from utfall.adapters.files import contract_read
    from utfall.adapters.knowledge import (
        bundle_payments_read,
        knowledge_file_format,
        knowledge_file_write,
        results_read,
    )
    from utfall.services.knowledge import KnowledgeProject, knowledge_export

    day = _published(published)
    try:
        knowledge_file_format(out)
    except UserError:
        raise UserError(f"--out {out}: name a .json or .csv file") from None
    if stage not in STAGES:
        raise UserError(f"--stage {stage!r}: choose one of {', '.join(STAGES)}")
    compiled = contract_read(contract)
    project = KnowledgeProject(
        contract=compiled,
        results=results_read(results) if results is not None else (),
        payments=bundle_payments_read(bundles, contract_id=compiled.id) if bundles else None,
        stage=stage,
        policy_sector=policy_sector,
    )
    document = knowledge_export([project], published=day, single=True)
    knowledge_file_write(document, out)
    withheld = sum(1 for r in document["results"] if r["utfall_extension"]["suppressed"])
    console.print(
        f"[green]✓[/] {escape(str(out))}: {document['id']} (INDIGO {INDIGO_VERSION}) — "
        f"{len(document['outcome_metrics'])} outcome metrics, {len(document['results'])} "
        f"results ({withheld} withheld as small cells), "
        f"{len(document['outcome_payments'])} outcome payments"
    )


@knowledge_app.command("fund")
def fund(
    contracts: Annotated[
        list[Path],
        typer.Argument(help="The fund's contracts (with its fund_administrator party)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Write the fund document to FILE.json.")],
    name: Annotated[
        str, typer.Option("--name", help="The fund's name.")
    ] = "Nationell utfallsfinansiering (pilot 2023–2028)",
    published: Annotated[
        str | None, typer.Option("--published", help="Publication date (default: today).")
    ] = None,
) -> None:
    """Export the national pilot fund (seed 003's budget) as INDIGO's fund object; the
    platform's download adds what the fund has committed and paid."""
    from utfall.adapters.files import contract_read
    from utfall.adapters.knowledge import knowledge_file_write
    from utfall.core.fund import PILOT_ACTOR_BUDGET, PILOT_BUDGET, FundState
    from utfall.services.knowledge import KnowledgeFund, knowledge_export, project_id

    day = _published(published)
    if out.suffix.lower() != ".json":
        raise UserError(f"--out {out}: a fund document is written as .json")
    compiled = [contract_read(path) for path in contracts]
    administrators = {
        (p.id, p.name) for c in compiled for p in c.parties if p.role == "fund_administrator"
    }
    if len(administrators) != 1:
        raise UserError(
            "the contracts must name one and the same fund_administrator party "
            f"(found {len(administrators)})"
        )
    ((administrator, host),) = administrators
    document = knowledge_export(
        [],
        funds=[
            KnowledgeFund(
                administrator=administrator,
                name=name,
                host=host,
                state=FundState(PILOT_BUDGET, actors=PILOT_ACTOR_BUDGET),
                projects=[project_id(c) for c in compiled],
            )
        ],
        published=day,
        single=True,
    )
    knowledge_file_write(document, out)
    console.print(
        f"[green]✓[/] {escape(str(out))}: {document['id']} (INDIGO {INDIGO_VERSION}) — "
        f"{len(compiled)} outcome contract(s)"
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
