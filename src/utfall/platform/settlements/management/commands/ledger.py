"""``manage ledger export FILE`` / ``manage ledger verify``: the platform's ledger, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Export the hash-chained ledger as JSON Lines (for `utfall verify --ledger`), or check it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("what", choices=("export", "verify"))
        parser.add_argument("file", nargs="?", help="where to write the JSON Lines (export)")

    def handle(self, *args: Any, what: str, file: str | None = None, **options: Any) -> None:
        from utfall.platform.settlements.ledger import ledger_jsonl, ledger_problems

        if what == "export":
            if not file:
                raise CommandError("give the file to write: manage ledger export LEDGER.jsonl")
            data = ledger_jsonl()
            Path(file).write_bytes(data)
            entries = len(data.splitlines())
            self.stdout.write(f"{entries} entries written to {file}")
            return
        problems = ledger_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"the ledger does not hold: {len(problems)} problem(s)")
        self.stdout.write("the ledger holds")
