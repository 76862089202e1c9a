"""``manage compile_translations``: compile the platform's .po files (msgfmt or Babel)."""

from typing import Any

from django.core.management.base import BaseCommand

from utfall.platform.i18n import compile_translations


class Command(BaseCommand):
    help = "Compile the platform's translations (.po → .mo)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="recompile up-to-date files")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        for mo in compile_translations(force=force):
            self.stdout.write(f"compiled {mo}")
