"""``manage.py imports_recover``: fail imports whose process died, for a retry (decision 0622)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from utfall.platform.imports.services import import_recover_stale


class Command(BaseCommand):
    help = (
        "Fail every running import whose process has ended (kill -9, a restart), so that "
        "it can be started again. Run it before the worker starts (db_worker)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        recovered = import_recover_stale()
        self.stdout.write(f"recovered {len(recovered)} interrupted import(s)")
