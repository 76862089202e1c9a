"""Every string the platform marks for translation has a Swedish entry (issue 15).

The msgids are read the way ``makemessages`` reads them: templates through Django's
``templatize`` (``{% translate %}``, ``{% blocktranslate %}`` with its plural and
context), Python through Babel's extractor (``_``, ``gettext``, ``gettext_lazy``,
``ngettext``, ``pgettext`` …). A string of an app with its own catalogue
(``<app>/locale/sv``) is looked up there and in the platform's catalogue
(``platform/locale/sv``); any other string in the platform's catalogue. An entry counts
when its msgstr is filled in and not fuzzy.

Run as a script, it lists what is missing, per catalogue, as .po entries to fill in::

    .venv/bin/python tests/platform/test_catalogue_complete.py
"""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "src" / "utfall" / "platform"
SHARED = PLATFORM / "locale" / "sv" / "LC_MESSAGES" / "django.po"

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


@dataclass(frozen=True)
class Use:
    """A marked string: its msgid (and plural, context) and where it is used."""

    msgid: str
    context: str | None
    path: Path
    line: int


def _python_uses(path: Path, text: str) -> list[Use]:
    from babel.messages.extract import extract_python

    uses = []
    options = {"encoding": "utf-8"}
    for line, _function, messages, _comments in extract_python(
        io.BytesIO(text.encode("utf-8")), KEYWORDS, [], options
    ):
        if messages is None:
            continue
        if isinstance(messages, str):
            uses.append(Use(messages, None, path, line))
            continue
        strings = [m for m in messages if m is not None] if None not in messages[:1] else []
        context = None
        if _function.startswith(("pgettext", "npgettext")):
            context, strings = strings[0], strings[1:]
        for msgid in strings[:1]:  # the singular is the catalogue's key
            if msgid:
                uses.append(Use(msgid, context, path, line))
    return uses


def _template_uses(path: Path) -> list[Use]:
    from django.utils.translation.template import templatize

    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    # Python-like text for the extractor (xgettext reads it as loose Python; the tokenizer
    # wants no indentation: the text between the calls is blanked out anyway).
    code = "\n".join(line.lstrip() for line in code.splitlines())
    return [Use(use.msgid, use.context, path, use.line) for use in _python_uses(path, code)]


def marked_strings() -> list[Use]:
    """Every marked string of the platform's templates and Python modules."""
    uses: list[Use] = []
    for path in sorted(PLATFORM.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        uses.extend(_python_uses(path, path.read_text(encoding="utf-8")))
    for path in sorted(PLATFORM.rglob("*.html")):
        uses.extend(_template_uses(path))
    return [use for use in uses if use.msgid.strip()]


def catalogue_of(path: Path) -> Path:
    """The catalogue a file's strings belong in: its app's, or the platform's."""
    relative = path.relative_to(PLATFORM)
    if len(relative.parts) > 1:
        own = PLATFORM / relative.parts[0] / "locale" / "sv" / "LC_MESSAGES" / "django.po"
        if own.exists():
            return own
    return SHARED


def translated(path: Path) -> set[tuple[str, str | None]]:
    """(msgid, context) of the catalogue's entries that have a Swedish text."""
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalogue = read_po(handle)
    found = set()
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            found.add((key, message.context))
    return found


def missing() -> dict[Path, list[Use]]:
    """The marked strings without a Swedish entry, by the catalogue they belong in."""
    cache: dict[Path, set[tuple[str, str | None]]] = {}

    def entries(path: Path) -> set[tuple[str, str | None]]:
        if path not in cache:
            cache[path] = translated(path)
        return cache[path]

    out: dict[Path, list[Use]] = defaultdict(list)
    seen: set[tuple[Path, str, str | None]] = set()
    for use in marked_strings():
        catalogue = catalogue_of(use.path)
        key = (use.msgid, use.context)
        if key in entries(catalogue) or key in entries(SHARED):
            continue
        if (catalogue, *key) not in seen:
            seen.add((catalogue, *key))
            out[catalogue].append(use)
    return dict(out)


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def test_every_marked_string_has_a_swedish_entry():
    gaps = missing()
    lines = []
    for catalogue, uses in sorted(gaps.items()):
        lines.append(f"{catalogue.relative_to(ROOT)}:")
        for use in uses:
            where = f"{use.path.relative_to(ROOT)}:{use.line}"
            lines.append(f"    {use.msgid!r} ({where})")
    assert not gaps, "Marked strings without a Swedish entry:\n" + "\n".join(lines)


def test_the_check_reads_templates_and_python(tmp_path):
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}{% translate "One thing" %}'
        "{% blocktranslate count n=3 %}{{ n }} row{% plural %}{{ n }} rows{% endblocktranslate %}"
        '{% translate "May" context "month" %}',
        encoding="utf-8",
    )
    found = {(use.msgid, use.context) for use in _template_uses(template)}
    assert found == {("One thing", None), ("%(n)s row", None), ("May", "month")}
    code = 'x = _("A text")\ny = pgettext_lazy("ctx", "Other")\nz = ngettext("a", "as", 2)'
    found = {(use.msgid, use.context) for use in _python_uses(tmp_path / "m.py", code)}
    assert found == {("A text", None), ("Other", "ctx"), ("a", None)}


if __name__ == "__main__":
    for catalogue, uses in sorted(missing().items()):
        print(f"# {catalogue.relative_to(ROOT)}: {len(uses)} missing")
        for use in uses:
            print(f"#: {use.path.relative_to(ROOT)}:{use.line}")
            if use.context:
                print(f"msgctxt {_po_string(use.context)}")
            print(f"msgid {_po_string(use.msgid)}")
            print('msgstr ""\n')
    sys.exit(0)
