"""``manage backup ARCHIVE``: the database, stored files, pseudonym key and signing-key secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from utfall.errors import UserError


class Command(BaseCommand):
    help = (
        "Write one backup archive (tar.gz, mode 600) of the SQLite database (online backup), "
        "the uploaded files, the pseudonym key and the signing-key secret. On PostgreSQL "
        "dump the database with pg_dump and pass --no-database."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("archive", type=Path, help="the file to write (must not exist)")
        parser.add_argument(
            "--no-database", action="store_true", help="leave the database out (pg_dump it)"
        )

    def handle(self, *args: Any, archive: Path, no_database: bool, **options: Any) -> None:
        from utfall.platform.backup import backup_create

        try:
            summary = backup_create(path=archive, include_database=not no_database)
        except UserError as error:
            raise CommandError(str(error)) from error
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"wrote {summary.path}: {summary.files} file(s), database {summary.database}, "
            f"signing-key secret from the {summary.signing_key_secret}. It holds the keys: "
            "store it as securely as the keys themselves."
        )
