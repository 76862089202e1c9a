"""Django's command-line utility for the platform: ``python -m utfall.platform.manage``."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command (development settings unless told otherwise)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.platform.settings.dev")
    # The .mo catalogues are build products: compile any stale one before Django starts,
    # since a process that has loaded its catalogues never reads them again.
    from utfall.platform.i18n import compile_translations

    compile_translations()
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv if argv is not None else sys.argv)


if __name__ == "__main__":
    main()
