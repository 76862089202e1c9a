"""Contract terms as a person reads them: ``{% load terms %}`` then
``{% term_value document name %}`` (a parameter's value by its type, through the formatting
layer, with its unit) and ``{{ type|term_type }}`` (``money`` → "belopp (kr)")."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from utfall.platform.settlements.presentation import figure

register = template.Library()

TYPES = {
    "money": _("amount (kr)"),
    "number": _("plain number"),
    "count": _("count"),
    "ratio": _("ratio"),
    "boolean": _("yes or no"),
    "choice": _("choice"),
    "series": _("series"),
}


@register.simple_tag
def term_value(document: Any, name: str) -> str:
    """The default value of the contract's parameter ``name``, with its unit unless money."""
    parameter = (getattr(document, "parameters", None) or {}).get(name)
    if parameter is None:
        return ""
    shown = figure(document, name, parameter.default)
    unit = parameter.unit or ""
    if parameter.type == "money" or unit.upper() in ("SEK", "KR"):
        return shown
    return f"{shown} {unit}".strip()


@register.filter
def term_type(value: Any) -> str:
    """A term's type in words."""
    return str(TYPES.get(str(value), value))


LEDGER_KINDS = {
    "contract_version": _("contract version"),
    "import": _("import"),
    "settlement": _("settlement"),
    "statement": _("statement"),
    "fund_commitment": _("fund commitment"),
    "fund_payment": _("fund payment"),
    "pre_registration": _("pre-registration"),
}


@register.filter
def ledger_kind(value: Any) -> str:
    """A ledger entry's kind in words."""
    return str(LEDGER_KINDS.get(str(value), value))
