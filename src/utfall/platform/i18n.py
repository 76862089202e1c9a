"""The active language, and compiling the translations (.po → .mo) at install, demo and
test time.

GNU gettext's ``msgfmt`` (through Django's ``compilemessages``) is used where it
is installed; otherwise Babel, which the locked dependencies already bring
(through great-tables), compiles the same files in pure Python.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["LOCALE_DIR", "active_language", "compile_translations"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def active_language() -> str:
    """``sv`` or ``en``: the language of the request being answered (Swedish unless the
    active language is English)."""
    from django.utils.translation import get_language

    from utfall.services.formatting import language_of

    return language_of(get_language())


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
        # Written to a temporary file and renamed into place: test workers compile at the
        # same time, and none may read a half-written catalogue (or skip it as fresh).
        partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        if shutil.which("msgfmt"):
            import subprocess

            subprocess.run(["msgfmt", "--check-format", "-o", str(partial), str(po)], check=True)
        else:
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with po.open("rb") as source:
                catalog = read_po(source)
            with partial.open("wb") as target:
                write_mo(target, catalog)
        os.replace(partial, mo)
        compiled.append(mo)
    return compiled
