"""Compiling the translations (.po → .mo) at install, demo and test time.

GNU gettext's ``msgfmt`` (through Django's ``compilemessages``) is used where it
is installed; otherwise Babel, which the locked dependencies already bring
(through great-tables), compiles the same files in pure Python.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["LOCALE_DIR", "compile_translations"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _stale(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_translations(*, force: bool = False) -> list[Path]:
    """Compile every stale ``django.po`` of the platform (its own locale folder and each
    app's ``locale/`` folder); returns the .mo files."""
    compiled = []
    for po in sorted(LOCALE_DIR.parent.glob("**/locale/*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not force and not _stale(po, mo):
            continue
        if shutil.which("msgfmt"):
            import subprocess

            subprocess.run(
                ["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True
            )
        else:
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)
        compiled.append(mo)
    return compiled
