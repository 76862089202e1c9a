"""``utfall keygen``: an Ed25519 key pair for signing settlement statements."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utfall.cli.output import console, print_json


def register(app: typer.Typer) -> None:
    """Add ``utfall keygen`` to the app."""
    app.command("keygen")(keygen_command)


def keygen_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for private.pem (mode 0600) and public.pem.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a key pair that is already there.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Make an Ed25519 key pair for signing settlements (the evaluator keeps private.pem)."""
    from utfall.adapters.bundles import keys_generate  # cryptography loads only when needed

    pair = keys_generate(out, force=force)
    if as_json:
        print_json(
            {
                "private_key": str(pair.private_path),
                "public_key": str(pair.public_path),
                "public_key_sha256": pair.fingerprint,
            }
        )
        return
    console.print(f"private key: {escape(str(pair.private_path))} (mode 0600; keep it secret)")
    console.print(f"public key:  {escape(str(pair.public_path))} (publish it)")
    console.print(f"fingerprint: {pair.fingerprint}")
