"""What the settlement pages show of a contract's terms: labels in the active language.

The contract documents carry their own labels (``utfall.services.labels.label``); until a
document gives one, the term's name is shown in words (``amount_in_sek`` → "amount in sek")
rather than as an identifier.
"""

from __future__ import annotations

from typing import Any

from utfall.platform.i18n import active_language as current_language

__all__ = ["current_language", "figure", "ledger_subject", "term_label"]


def term_label(document: Any, kind: str, name: str, language: str | None = None) -> str:
    """The label of the contract's ``kind`` term (``input``, ``output``, ``parameter``,
    ``payment``) ``name`` in ``language`` (the active one by default)."""
    language = language or current_language()
    from utfall.services.labels import label

    try:
        text = label(document, kind, name, language)
    except (KeyError, LookupError, ValueError):
        text = None
    if text:
        return str(text)
    words = name.replace("_", " ").strip()
    for suffix in (" sek",):
        if words.endswith(suffix):
            words = words[: -len(suffix)] + (" (kr)" if language == "sv" else " (SEK)")
    return words[:1].upper() + words[1:]


def _term_type(document: Any, name: str) -> str | None:
    for group in ("inputs", "outputs", "parameters"):
        term = (getattr(document, group, None) or {}).get(name)
        if term is not None:
            return str(term.type) if term.type != "series" else f"series:{term.of or 'number'}"
    return None


def _term_unit(document: Any, name: str) -> str | None:
    for group in ("inputs", "outputs", "parameters"):
        term = (getattr(document, group, None) or {}).get(name)
        if term is not None:
            return getattr(term, "unit", None)
    return None


SHARE_UNIT = "share"
"""The unit a contract gives a ratio or number that is a share of a whole: shown as per cent."""


def figure(document: Any, name: str, value: Any, language: str | None = None) -> str:
    """A figure of a statement as a person reads it, by its term's type: money as
    ``10 000 000,00 kr``, a share (unit ``share``) as ``41,17 %``, numbers in the
    language's form, yes/no, a series as its values."""
    from django.utils.translation import gettext as _

    from utfall.services import formatting

    language = language or current_language()
    kind = _term_type(document, name) or ("money" if name.endswith("_sek") else None)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        of = kind.split(":", 1)[1] if kind and kind.startswith("series:") else None
        return "; ".join(
            formatting.money(v, language) if of == "money" else formatting.number(v, language)
            for v in value
        )
    if value is None or value == "":
        return formatting.EMPTY
    if kind == "money":
        return formatting.money(value, language)
    if kind in ("number", "ratio") and _term_unit(document, name) == SHARE_UNIT:
        return formatting.percent(value, language, places=2)
    if kind in ("number", "ratio", "count") or _numeric(value):
        return formatting.number(value, language)
    return str(value)


def _numeric(value: Any) -> bool:
    from decimal import Decimal, InvalidOperation

    if isinstance(value, int | float | Decimal):
        return True
    try:
        Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return True


def _table_label(document: Any, name: str, language: str) -> str:
    from utfall.services.labels import label

    return str(label(document, "table", name, language)) if name else ""


def ledger_subject(entry: Any, document: Any = None, language: str | None = None) -> str:
    """What a ledger entry is about, in words of ``language``, from its kind and attributes
    (the stored ``subject`` is English and part of the hashed entry: it stays as it is).
    Tables by their labels, amounts and dates in the language's form; an entry of a kind
    not known here is shown by its subject."""
    from django.utils.translation import gettext as _
    from django.utils.translation import override, pgettext

    from utfall.services import formatting

    language = language or current_language()
    kind = str(getattr(entry, "kind", ""))
    attributes = dict(getattr(entry, "attributes", None) or {})
    version = attributes.get("version", "")
    with override(language):
        if kind == "contract_version":
            return _("version %(version)s of the contract") % {"version": version}
        if kind == "pre_registration":
            return _("pre-registration of version %(version)s of the contract") % {
                "version": version
            }
        if kind == "settlement":
            return _("settlement on version %(version)s of the contract") % {"version": version}
        if kind == "import" and attributes.get("what") == "facts":
            return _("the values the evaluator entered")
        if kind == "import" and attributes.get("what") == "table":
            table = _table_label(document, str(attributes.get("table", "")), language)
            rows = formatting.number(attributes.get("rows") or 0, language)
            if attributes.get("as_of"):
                return _("the rows of %(table)s used (%(rows)s rows, the data as of %(day)s)") % {
                    "table": table,
                    "rows": rows,
                    "day": formatting.date(str(attributes["as_of"]), language),
                }
            return _("the rows of %(table)s used (%(rows)s rows)") % {"table": table, "rows": rows}
        if kind == "import" and attributes.get("what"):
            table = _table_label(document, str(attributes["what"]), language)
            rows = formatting.number(attributes.get("rows") or 0, language)
            return _("import into %(table)s: %(file)s (%(rows)s rows)") % {
                "table": table,
                "file": attributes.get("file") or "",
                "rows": rows,
            }
        if kind == "fund_commitment":
            changes = {
                "committed": pgettext("fund commitment", "committed"),
                "released": pgettext("fund commitment", "released"),
            }
            change = str(attributes.get("change", ""))
            return _(
                "fund commitment to %(constellation)s for %(year)s: %(amount)s (%(change)s)"
            ) % {
                "constellation": attributes.get("constellation", ""),
                "year": attributes.get("year", ""),
                "amount": formatting.money(attributes.get("amount_sek"), language),
                "change": changes.get(change, change),
            }
        if kind == "fund_payment":
            start, _sep, end = str(attributes.get("period", "")).partition("/")
            return _("outcome payment to %(constellation)s for %(start)s – %(end)s: %(amount)s") % {
                "constellation": attributes.get("constellation", ""),
                "start": formatting.date(start, language) if start else "",
                "end": formatting.date(end, language) if end else "",
                "amount": formatting.money(attributes.get("amount_sek"), language),
            }
    return str(getattr(entry, "subject", ""))
