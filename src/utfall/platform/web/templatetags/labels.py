"""Template tags over the contract's own labels (utfall.services.labels).

``{% load labels %}`` then ``{% label contract "output" name %}`` (the declared label
in the active language, never the identifier), ``{% label contract "party" "lsv" %}``,
``{% label contract "output" name as text %}`` to keep it in a variable,
``{% label_summary contract "output" name %}`` (the description in the active
language, or empty), and the filter ``{{ role|role_label }}`` (commissioner →
Beställare). ``contract`` is a parsed contract or its document.
"""

from __future__ import annotations

from typing import Any

from django import template

from utfall.platform.i18n import active_language as _language
from utfall.services import labels as contract_labels

register = template.Library()


@register.simple_tag(name="label")
def label_tag(document: Any, kind: str, name: Any) -> str:
    """The label of a contract's part in the active language."""
    return contract_labels.label(document, kind, str(name), _language())


@register.simple_tag(name="label_summary")
def label_summary(document: Any, kind: str, name: Any) -> str:
    """The description of a contract's part in the active language, or empty."""
    return contract_labels.summary(document, kind, str(name), _language())


@register.filter(name="role_label")
def role_label(value: Any) -> str:
    """A party role in words (commissioner → Beställare)."""
    return contract_labels.role(str(value), _language())
