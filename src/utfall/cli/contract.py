"""``utfall contract …``: validate, test, show and publish the schema of contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utfall.adapters.files import contract_read
from utfall.cli.layered import contracts_readable, links_check_among
from utfall.cli.output import console, print_json
from utfall.core.contracts import Contract, contract_json_schema, describe_formula, format_value
from utfall.errors import FindingsError, UserError
from utfall.services.contracts import contract_test

contract_app = typer.Typer(help="Validate, test and show outcome contracts.", no_args_is_help=True)

Files = Annotated[list[Path], typer.Argument(help="Contract YAML file(s).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def register(app: typer.Typer) -> None:
    """Add ``utfall contract`` to the app."""
    app.add_typer(contract_app, name="contract")


@contract_app.command("validate")
def validate(files: Files, as_json: JsonFlag = False) -> None:
    """Check contract documents; list every problem with its location (exit 2 if any).

    Contracts validated together are checked against each other: a layered contract's
    inputs taken from one of the others (``from_contract``) must name what it has."""
    results = []
    together = contracts_readable(files)
    for file in files:
        try:
            contract = contract_read(file)
            links_check_among(contract, together)
        except FindingsError as error:
            results.append(
                {
                    "file": str(file),
                    "valid": False,
                    "findings": [f.as_dict() for f in error.findings],
                }
            )
            if not as_json:
                console.print(f"[red]✗[/] {escape(str(file))}: {len(error.findings)} problem(s)")
                for finding in error.findings:
                    console.print(f"  [red]•[/] {escape(str(finding))}")
            continue
        except UserError as error:
            results.append(
                {
                    "file": str(file),
                    "valid": False,
                    "findings": [{"code": "unreadable", "message": str(error)}],
                }
            )
            if not as_json:
                console.print(f"[red]✗[/] {escape(str(error))}")
            continue
        results.append(
            {
                "file": str(file),
                "valid": True,
                "id": contract.id,
                "version": contract.version,
                "findings": [],
            }
        )
        if not as_json:
            console.print(
                f"[green]✓[/] {escape(str(file))}: {contract.id} v{contract.version} — "
                f"{len(contract.parameters)} parameters, {len(contract.inputs)} inputs, "
                f"{len(contract.outputs)} outputs, {len(contract.payments)} payments, {len(contract.tests)} tests"
            )
    if as_json:
        print_json(results)
    if not all(r["valid"] for r in results):
        raise typer.Exit(2)


@contract_app.command("test")
def test(files: Files, as_json: JsonFlag = False) -> None:
    """Run the contracts' embedded test cases (exit 1 if a case fails, 2 if a contract is invalid)."""
    report = []
    failed = 0
    for file in files:
        contract = contract_read(file)
        results = contract_test(contract)
        failed += sum(not r.passed for r in results)
        report.append(
            {"file": str(file), "contract": contract.id, "cases": [r.as_dict() for r in results]}
        )
        if as_json:
            continue
        table = Table(title=f"{contract.id} ({file})", title_justify="left", show_lines=False)
        table.add_column("", width=2)
        table.add_column("case")
        table.add_column("expected vs actual")
        for result in results:
            mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
            problems = list(result.mismatches) + ([result.error] if result.error else [])
            table.add_row(mark, escape(result.name), escape("\n".join(problems)))
        console.print(table)
        passed = sum(r.passed for r in results)
        colour = "green" if passed == len(results) else "red"
        console.print(f"[{colour}]{passed} of {len(results)} case(s) passed[/]")
    if as_json:
        print_json(report)
    if failed:
        raise typer.Exit(1)


@contract_app.command("schema")
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of contract documents (for editors and other tools)."""
    text = json.dumps(contract_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def _render(contract: Contract, lang: str) -> None:
    console.print(
        f"[bold]{escape(contract.title)}[/]  ({contract.id} v{contract.version}, {contract.currency})"
    )
    if contract.description:
        console.print(escape(" ".join(contract.description.split())))
    parties = Table(title="Parties" if lang == "en" else "Parter", title_justify="left")
    parties.add_column("id")
    parties.add_column("name" if lang == "en" else "namn")
    parties.add_column("role" if lang == "en" else "roll")
    for party in contract.parties:
        parties.add_row(party.id, escape(party.name), party.role)
    console.print(parties)
    terms = Table(title="Terms" if lang == "en" else "Villkor", title_justify="left")
    for column in ("name", "type", "value", "description"):
        terms.add_column(column)
    for name, parameter in contract.parameters.items():
        terms.add_row(
            name,
            parameter.describe_type(),
            format_value(parameter.default, parameter.type, parameter.of),
            escape(parameter.description or ""),
        )
    console.print(terms)
    inputs = Table(
        title="Measured inputs" if lang == "en" else "Mätta utfall", title_justify="left"
    )
    for column in ("name", "type", "description"):
        inputs.add_column(column)
    for name, term in contract.inputs.items():
        inputs.add_row(
            name, term.describe_type(), escape(" ".join((term.description or "").split()))
        )
    console.print(inputs)
    outputs = Table(
        title="Formulas" if lang == "en" else "Formler", title_justify="left", show_lines=True
    )
    outputs.add_column("name")
    outputs.add_column("in plain language" if lang == "en" else "i klartext")
    for name, output in contract.outputs.items():
        outputs.add_row(name, escape(describe_formula(output.formula, lang)))
    for payment in contract.payments:
        outputs.add_row(
            f"{payment.id}: {payment.payer} → {payment.payee}",
            escape(f"{payment.label}: {describe_formula(payment.formula, lang)}"),
        )
    console.print(outputs)


@contract_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    lang: Annotated[str, typer.Option("--lang", help="sv or en.")] = "sv",
) -> None:
    """Show a contract readably: parties, terms, and formulas in plain language."""
    if lang not in {"sv", "en"}:
        raise UserError(f"--lang {lang!r}: choose sv or en")
    _render(contract_read(file), lang)
