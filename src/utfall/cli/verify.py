"""``utfall verify``: re-check a settlement bundle offline (exit 0 holds, 1 differs, 2 unreadable)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utfall.cli.output import console, print_json
from utfall.errors import VerificationFailed

if TYPE_CHECKING:
    from utfall.services.bundles import VerificationReport


def register(app: typer.Typer) -> None:
    """Add ``utfall verify`` to the app."""
    app.command("verify")(verify_command)


def print_report(report: VerificationReport) -> None:
    """Readable report: one line per check, then the notes."""
    console.print(f"[bold]{escape(report.source)}[/]: {escape(report.contract or '?')}")
    table = Table(show_header=True, title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        table.add_row(
            check.name,
            "[green]holds[/]" if check.ok else "[red]DIFFERS[/]",
            escape(check.detail),
        )
    console.print(table)
    if report.payments:
        payments = Table(title="Signed payments", title_justify="left")
        for column in ("payment", "from", "to", "amount (SEK)"):
            payments.add_column(column, justify="right" if column.startswith("amount") else "left")
        for item in report.payments:
            payments.add_row(item["id"], item["from"], item["to"], item["amount_sek"])
        console.print(payments)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if report.ok:
        console.print("[bold green]verified[/]: everything in the bundle holds")


def verify_command(
    bundle: Annotated[
        Path, typer.Argument(help="Settlement bundle written by `utfall settle --bundle`.")
    ],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The evaluator's published public.pem; without it the key in the bundle is used "
            "(integrity, not identity).",
        ),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option("--ledger", help="Also check the bundle's entries against this ledger file."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Tables the bundle holds only the digests of (NAME.csv or NAME.parquet): "
            "checked against the digests, then the evaluations are run again.",
        ),
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(
            "--log-key",
            help="The platform's published log key (NAME+HASH+KEY): the bundle's inclusion "
            "proof must be in a tree head signed with it.",
        ),
    ] = None,
    no_recompute: Annotated[
        bool,
        typer.Option("--no-recompute", help="Check hashes, chain and signature only."),
    ] = False,
    extract: Annotated[
        Path | None,
        typer.Option("--extract", help="Also write the bundle's parts as files into this folder."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Recompute a settlement bundle and check its hashes, ledger chain and signature."""
    from utfall.adapters.bundles import bundle_extract, bundle_file_verify, public_key_load

    key = public_key_load(public_key) if public_key is not None else None
    report = bundle_file_verify(
        bundle,
        public_key=key,
        ledger_path=ledger,
        data_dir=data_dir,
        recompute=not no_recompute,
        log_key=log_key,
    )
    if extract is not None:
        bundle_extract(bundle, extract)
    if as_json:
        print_json(report.as_dict())
    else:
        print_report(report)
    if not report.ok:
        raise VerificationFailed(
            f"{bundle}: verification failed ({len(report.differences)} difference(s))",
            report.differences,
        )
