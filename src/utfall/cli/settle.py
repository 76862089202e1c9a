"""``utfall settle``: contract + facts → payments, with every figure explained."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utfall.adapters.files import DirectoryTables, contract_read, facts_read
from utfall.cli.layered import upstream_json, upstream_link, upstream_print
from utfall.cli.output import console, print_json
from utfall.core.contracts import Settlement, format_value
from utfall.errors import UserError
from utfall.services.contracts import contract_settle, parameter_overrides_parse


def register(app: typer.Typer) -> None:
    """Add ``utfall settle`` to the app."""
    app.command("settle")(settle_command)


def explanation_roots(settlement: Settlement) -> list[str]:
    """Payments first, then outputs that no payment explains."""
    roots = [p.id for p in settlement.payments]
    reached: set[str] = set()

    def walk(name: str) -> None:
        node = settlement.explain(name)
        for child in node.children:
            if child.name not in reached:
                reached.add(child.name)
                walk(child.name)

    for root in roots:
        walk(root)
    roots += [name for name in settlement.outputs if name not in reached]
    return roots


def print_settlement(settlement: Settlement, *, explain: bool) -> None:
    """Readable settlement: outputs and payments, optionally the explanation trees."""
    contract = settlement.contract
    console.print(f"[bold]{escape(contract.title)}[/] ({contract.id} v{contract.version})")
    if settlement.overridden:
        shown = ", ".join(
            f"{n} = {format_value(settlement.parameters[n], contract.parameters[n].type)}"
            for n in sorted(settlement.overridden)
        )
        console.print(f"[yellow]what-if:[/] {escape(shown)}")
    outputs = Table(title="Outputs", title_justify="left")
    outputs.add_column("name")
    outputs.add_column("value", justify="right")
    for name, value in settlement.outputs.items():
        term = contract.outputs[name]
        outputs.add_row(name, format_value(value, term.type, term.of))
    console.print(outputs)
    payments = Table(title="Payments", title_justify="left")
    for column in ("payment", "from", "to", "amount (SEK)"):
        payments.add_column(column, justify="right" if column.startswith("amount") else "left")
    for line in settlement.payments:
        payments.add_row(
            escape(line.label), line.payer, line.payee, format_value(line.amount, "money")
        )
    console.print(payments)
    if explain:
        console.print("[bold]Explanation[/]")
        for root in explanation_roots(settlement):
            for text in settlement.explain(root).lines():
                console.print(escape(text))


def settle_command(
    contract: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    facts: Annotated[
        Path | None, typer.Option("--facts", help="Facts: YAML or JSON, input name → value.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Compute bound inputs from the contract's tables in this folder "
            "(NAME.csv or NAME.parquet per declared table).",
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="With --data-dir: use only the data known on this day (YYYY-MM-DD).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="What-if: override a parameter, NAME=VALUE (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show how every figure was computed.")
    ] = False,
    sign: Annotated[
        Path | None,
        typer.Option("--sign", help="Sign the statement with this Ed25519 private.pem."),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Write the signed settlement bundle to this file."),
    ] = None,
    include_data: Annotated[
        bool,
        typer.Option(
            "--include-data",
            help="Put the tables the evaluations read in the bundle (canonical CSV), not only "
            "their SHA-256 (they hold pseudonymised personal data).",
        ),
    ] = False,
    ledger: Annotated[
        Path | None,
        typer.Option("--ledger", help="Append the ledger entries to this JSON Lines ledger."),
    ] = None,
    evaluator: Annotated[
        str | None,
        typer.Option("--evaluator", help="Who signs (default: the contract's evaluator party)."),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Who the ledger records (default: the signer)."),
    ] = None,
    upstream: Annotated[
        list[Path] | None,
        typer.Option(
            "--upstream",
            help="Layered contracts: a contract this one takes inputs from, settled first "
            "(repeatable; each with its --upstream-facts, in the same order).",
        ),
    ] = None,
    upstream_facts: Annotated[
        list[Path] | None,
        typer.Option("--upstream-facts", help="The facts of an --upstream contract."),
    ] = None,
    upstream_bundle: Annotated[
        list[Path] | None,
        typer.Option(
            "--upstream-bundle",
            help="Layered contracts: an upstream contract's signed settlement bundle, taken "
            "as it is (check it with `utfall verify`; repeatable).",
        ),
    ] = None,
) -> None:
    """Settle a contract on evaluated facts: every output and payment.

    With --sign and --bundle the settlement is recorded in a ledger slice, its
    statement signed, and everything written to one bundle that
    `utfall verify` checks offline. A layered contract (inputs ``from_contract``) needs
    the settlements it takes from: --upstream with --upstream-facts, or --upstream-bundle.
    """
    overrides = parameter_overrides_parse(param or [])
    written = None
    if (sign is None) != (bundle is None):
        raise UserError("--sign and --bundle go together: --sign KEYDIR/private.pem --bundle OUT")
    if (include_data or ledger or evaluator or actor) and bundle is None:
        raise UserError("--include-data, --ledger, --evaluator and --actor need --bundle")
    if as_of is not None and data_dir is None:
        raise UserError("--as-of needs --data-dir (it says which of the data to use)")
    document = contract_read(contract)
    known = facts_read(facts) if facts is not None else None
    known, upstreams = upstream_link(
        document,
        known,
        upstream=upstream or [],
        upstream_facts=upstream_facts or [],
        upstream_bundle=upstream_bundle or [],
    )
    tables = DirectoryTables(data_dir, document.data) if data_dir is not None else None
    until = as_of.date() if as_of is not None else None
    if sign is not None and bundle is not None:
        from utfall.adapters.bundles import bundle_write

        written = bundle_write(
            contract=document,
            contract_file=contract.name,
            facts=known,
            tables=tables,
            until=until,
            overrides=overrides,
            out_path=bundle,
            key_path=sign,
            now=datetime.now(UTC),
            actor=actor,
            evaluator=evaluator,
            include_data=include_data,
            ledger_path=ledger,
        )
        settlement = written.settlement
    else:
        settlement = contract_settle(
            document, facts=known, tables=tables, overrides=overrides, until=until
        ).settlement
    if as_json:
        data = settlement.to_json()
        if written is not None:
            data["bundle"] = {
                "path": str(written.path),
                "statement_sha256": written.statement.sha256(),
                "ledger_head": written.statement.ledger_head,
                "public_key_sha256": written.key_fingerprint,
            }
        if upstreams is not None and known is not None:
            data["upstream"] = upstream_json(upstreams, document, known)
        if explain:
            data["explanation"] = {
                r: settlement.explain(r).as_dict() for r in explanation_roots(settlement)
            }
        print_json(data)
    else:
        if upstreams is not None and known is not None:
            upstream_print(upstreams, document, known, explain=explain)
        print_settlement(settlement, explain=explain)
        if written is not None:
            console.print(
                f"bundle: {escape(str(written.path))}, signed by {escape(written.statement.evaluator)} "
                f"(key {written.key_fingerprint}); check it with `utfall verify`"
            )
