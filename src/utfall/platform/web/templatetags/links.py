"""``{{ value|safe_link }}``: the value if it is an http(s) link, else an empty string."""

from __future__ import annotations

from django import template

from utfall.platform.links import link_is_safe

register = template.Library()


@register.filter
def safe_link(value: object) -> str:
    """The link to put in ``href``, or ``""`` (show the value as text) if it is not http(s)."""
    text = "" if value is None else str(value)
    return text if link_is_safe(text) else ""
