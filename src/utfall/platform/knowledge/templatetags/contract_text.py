"""A contract's terms and units as a person reads them, on the contract page and the
knowledge platform: ``{% load contract_text %}`` then ``{{ unit|unit_label }}``
(``young people`` → "unga") and ``{% term_shown document name %}`` (a term's default
value through the formatting layer, with its unit in the active language)."""

from __future__ import annotations

from typing import Any

from django import template

from utfall.platform.knowledge.presentation import term_unit
from utfall.platform.knowledge.presentation import unit_label as _unit_label

register = template.Library()


@register.filter
def unit_label(unit: Any) -> str:
    """A declared unit in the active language (``SEK per actor`` → "kr per aktör")."""
    return _unit_label(unit)


@register.simple_tag
def term_shown(document: Any, name: str) -> str:
    """The default value of the contract's parameter ``name`` with its unit in words: a
    money value carries its own "kr", so only a ``per …`` of its unit is added."""
    from utfall.platform.settlements.presentation import figure

    parameter = (getattr(document, "parameters", None) or {}).get(name)
    if parameter is None:
        return ""
    shown = figure(document, name, parameter.default)
    unit = term_unit(parameter)
    return f"{shown} {unit}" if unit else shown
