"""``manage pseudonym_key create PATH``: write a new pseudonym key file."""

from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError

from utfall.platform.pseudonyms import create_key_file


class Command(BaseCommand):
    help = "Create the secret key file for participant pseudonyms (keep it and back it up)."
    # The key file need not exist yet for this command.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        if path.exists():
            raise CommandError(f"{path} exists; a new key would give every person a new pseudonym")
        create_key_file(path)
        self.stdout.write(f"wrote a new pseudonym key to {path} (mode 600)")
