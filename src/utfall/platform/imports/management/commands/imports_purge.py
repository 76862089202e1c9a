"""``manage.py imports_purge``: delete uploaded files no import needs any more (decision 0620)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from utfall.platform.imports.services import import_files_purge


class Command(BaseCommand):
    help = (
        "Delete the uploaded files of imports committed or refused, of imports waiting "
        "longer than UTFALL_IMPORT_KEEP_HOURS, and files no import names. Run it hourly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = import_files_purge()
        self.stdout.write(
            f"deleted {counts['final']} file(s) of finished imports, {counts['expired']} "
            f"of expired ones and {counts['orphans']} orphan file(s)"
        )
