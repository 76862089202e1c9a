"""``utfall demo``: settle every reference contract on its example facts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utfall.adapters.files import contract_read, facts_read
from utfall.cli.output import console
from utfall.core.contracts import format_value
from utfall.services.contracts import contract_test
from utfall.services.layered import contracts_settle

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def register(app: typer.Typer) -> None:
    """Add ``utfall demo`` to the app."""
    app.command("demo")(demo_command)


def demo_command(
    examples: Annotated[
        Path, typer.Option("--examples", help="Folder with contracts/ and facts/.")
    ] = EXAMPLES,
) -> None:
    """Settle the reference contracts on their example facts and print a summary."""
    contracts = sorted((examples / "contracts").glob("*.yaml"))
    if not contracts:
        console.print(f"[red]no contracts in {escape(str(examples / 'contracts'))}[/]")
        raise typer.Exit(2)
    summary = Table(
        title="utfall — the reference contracts, settled on their example facts",
        title_justify="left",
    )
    for column in ("contract", "tests", "payment", "from → to", "amount (SEK)"):
        summary.add_column(column, justify="right" if column.startswith("amount") else "left")
    documents = {path: contract_read(path) for path in contracts}
    # Layered contracts take their upstream contracts' settlements: settle upstream first.
    settled = contracts_settle(
        list(documents.values()),
        facts={c.id: facts_read(examples / "facts" / p.name) for p, c in documents.items()},
    )
    for path in contracts:
        contract = documents[path]
        results = contract_test(contract)
        passed = f"{sum(r.passed for r in results)}/{len(results)}"
        settlement = settled.runs[contract.id].settlement
        first = True
        total = sum((line.amount for line in settlement.payments), Decimal(0))
        if not settlement.payments:
            # A contract may only evaluate (e.g. the fund's portfolio evaluation).
            summary.add_row(escape(contract.title), passed, "no payments", "", "–")
            first = False
        for line in settlement.payments:
            summary.add_row(
                escape(contract.title) if first else "",
                passed if first else "",
                escape(line.label),
                f"{line.payer} → {line.payee}",
                format_value(line.amount, "money"),
            )
            first = False
        summary.add_row(
            "",
            "",
            "[bold]total[/]",
            "",
            f"[bold]{format_value(total, 'money')}[/]",
            end_section=True,
        )
    console.print(summary)
    console.print(
        "Try: [bold]utfall settle examples/contracts/norrkoping-placed-children.yaml "
        "--facts examples/facts/norrkoping-placed-children.yaml --explain[/]"
    )
