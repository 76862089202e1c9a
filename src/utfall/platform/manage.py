"""Django's command-line utility for the platform: ``python -m utfall.platform.manage``."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command (development settings unless told otherwise)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.platform.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv if argv is not None else sys.argv)


if __name__ == "__main__":
    main()
