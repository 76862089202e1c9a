"""``manage restore ARCHIVE``: put back what ``manage backup`` wrote, then check it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from utfall.errors import UserError


class Command(BaseCommand):
    help = (
        "Restore a backup archive: checks every member first, refuses to overwrite a platform "
        "with data or other keys unless --force, then verifies the ledger and the signing keys. "
        "Stop the web server and the worker first; run migrate afterwards."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="replace existing data, files and keys"
        )
        parser.add_argument(
            "--check", action="store_true", help="only check the archive; change nothing"
        )

    def handle(self, *args: Any, archive: Path, force: bool, check: bool, **options: Any) -> None:
        from utfall.platform.backup import backup_restore, backup_verify

        try:
            if check:
                manifest = backup_verify(archive)
                self.stdout.write(
                    f"{archive} is intact: {len(manifest['files'])} file(s), made "
                    f"{manifest['created_at']}"
                )
                return
            summary = backup_restore(path=archive, force=force)
        except UserError as error:
            raise CommandError(str(error)) from error
        for problem in summary.problems:
            self.stderr.write(problem)
        if summary.problems:
            raise CommandError(f"restored, but the check found {len(summary.problems)} problem(s)")
        self.stdout.write(
            f"restored {summary.files} file(s) (database {summary.database}); "
            f"{summary.ledger_entries} ledger entries hold; {summary.evaluator_keys} "
            "signing key(s) decrypt. Run migrate, then start the server and the worker."
        )
