"""Template filters over the one formatting layer (utfall.services.formatting).

``{% load fmt %}`` then ``{{ value|money }}``, ``{{ value|money:0 }}`` (whole kronor),
``{{ value|sek }}`` (the figure without the unit, for columns headed in SEK),
``{{ value|number }}``, ``{{ value|number:2 }}``, ``{{ share|percent }}``,
``{{ share|percent:0 }}``, ``{{ day|day }}`` (ISO date), ``{{ day|longday }}``,
``{{ moment|moment }}``; all in the active language.
"""

from __future__ import annotations

from typing import Any

from django import template

from utfall.platform.i18n import active_language as _language
from utfall.services import formatting

register = template.Library()


@register.filter
def money(value: Any, places: int = 2) -> str:
    return formatting.money(value, _language(), places=int(places))


@register.filter
def sek(value: Any, places: int = 2) -> str:
    return formatting.money(value, _language(), places=int(places), unit=False)


@register.filter
def number(value: Any, places: Any = None) -> str:
    return formatting.number(value, _language(), None if places in (None, "") else int(places))


@register.filter
def percent(value: Any, places: int = 1) -> str:
    return formatting.percent(value, _language(), places=int(places))


@register.filter
def day(value: Any) -> str:
    return formatting.date(value, _language())


@register.filter
def longday(value: Any) -> str:
    return formatting.date(value, _language(), style="long")


@register.filter
def moment(value: Any) -> str:
    from django.utils import timezone

    if value is not None and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formatting.datetime(value, _language())


@register.simple_tag
def vega_locale() -> dict[str, Any]:
    """The Vega-Lite format locale of the active language (pass to vega-embed)."""
    return formatting.vega_format_locale(_language())
