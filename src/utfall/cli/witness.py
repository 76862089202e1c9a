"""``utfall witness URL --state FILE --key KEYFILE``: check the platform's log and cosign it.

Exit codes: 0 the new head extends the last one seen and was cosigned; 1 a split
view (or a head not signed by the pinned log key): reported, the state kept as it
was; 2 bad input (no state and no log key, an unreadable key or answer, no
connection).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utfall.cli.output import console, print_json
from utfall.errors import UserError

_MAX_ANSWER = 1 << 20  # bytes read from one answer of the log, at most
_TIMEOUT = 30  # seconds per request


def register(app: typer.Typer) -> None:
    """Add ``utfall witness`` to the app."""
    app.command("witness")(witness_command)


def _client(base: str, token: str | None):  # type: ignore[no-untyped-def]
    base = base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UserError(f"{base}: the log's API address must start with http:// or https://")

    def call(path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(base + path, data=body, method="POST" if body else "GET")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as answer:
                data: bytes = answer.read(_MAX_ANSWER + 1)
        except urllib.error.HTTPError as error:
            detail = error.read(2000).decode("utf-8", errors="replace")
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                detail = json.loads(detail).get("message", detail)
            raise UserError(f"{base}{path}: the log answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(f"{base}{path}: cannot reach the log: {reason}") from None
        if len(data) > _MAX_ANSWER:
            raise UserError(f"{base}{path}: the answer is larger than {_MAX_ANSWER} bytes")
        return data

    return call


def _write_state(path: Path, state: dict[str, object]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def witness_command(
    url: Annotated[str, typer.Argument(help="The platform's API, e.g. https://host/api.")],
    state: Annotated[
        Path,
        typer.Option("--state", help="JSON file with the pinned log key and the last head seen."),
    ],
    key: Annotated[
        Path, typer.Option("--key", help="The witness's Ed25519 private.pem (utfall keygen).")
    ],
    log_key: Annotated[
        str | None,
        typer.Option(
            "--log-key",
            help="The log's verifier key NAME+HASH+KEY (from the public-keys page); needed "
            "the first time, then pinned in the state.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The witness's name in its cosignatures."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="UTFALL_TOKEN", help="API token (or $UTFALL_TOKEN)."),
    ] = None,
    no_post: Annotated[
        bool, typer.Option("--no-post", help="Check and cosign, but do not send it to the log.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check that the log's newest tree head extends the last one seen, then cosign it."""
    from utfall.adapters.bundles import private_key_load
    from utfall.core.ledger import key_fingerprint, public_key_raw
    from utfall.services.witness import (
        witness_key,
        witness_run,
        witness_state_new,
        witness_state_parse,
    )

    private_key = private_key_load(key)
    witness_name = name or f"utfall-witness-{key_fingerprint(public_key_raw(private_key))[:16]}"
    if state.exists():
        current = witness_state_parse(state.read_text(encoding="utf-8"), source=str(state))
        if log_key is not None and log_key.strip() != current["log_key"]:
            raise UserError(
                f"{state}: pins another log key than --log-key; the log key never changes "
                "silently (start a new state file if the log really changed its key)"
            )
    elif log_key is not None:
        current = witness_state_new(log_key)
    else:
        raise UserError(f"{state}: no such state file; give --log-key the first time")
    call = _client(url, token)
    result = witness_run(
        fetch=call, state=current, name=witness_name, private_key=private_key, now=int(time.time())
    )
    _write_state(state, result.state)
    posted = False
    if not no_post:
        body = json.dumps(
            {"cosignature": result.note, "witness_key": witness_key(witness_name, private_key)}
        ).encode("utf-8")
        call("/ledger/cosignatures", body)
        posted = True
    if as_json:
        print_json({**result.as_dict(), "posted": posted, "witness": witness_name})
        return
    before = f"from size {result.previous.size} " if result.previous else "first head: "
    console.print(
        f"[bold green]consistent[/]: {escape(before)}to size {result.current.size}; "
        f"cosigned as {escape(witness_name)}" + (" and sent to the log" if posted else "")
    )
