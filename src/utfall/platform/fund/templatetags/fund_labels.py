"""``{% load fund_labels %}``: the fund's codes and stored texts in the active language
(utfall.platform.fund.labels)."""

from __future__ import annotations

from typing import Any

from django import template

from utfall.platform.fund import labels
from utfall.services import formatting

register = template.Library()
register.filter("bilingual", labels.bilingual)
register.filter("known", labels.known)
register.filter("indicator_name", labels.indicator_name)
register.filter("decision_summary", labels.decision_summary)
register.filter("decision_reasons", labels.decision_reasons)
register.filter("explanation", labels.payment_explanation)


@register.filter
def member_kind(value: Any) -> str:
    return labels.member_kind(str(value))


@register.filter
def budget_category(value: Any) -> str:
    return labels.budget_category(str(value))


@register.filter
def per_cent(value: Any, places: int = 1) -> str:
    """A figure in per cent (12.5) written as a percentage (``12,5 %``)."""
    if value is None or value == "":
        return formatting.EMPTY
    from decimal import Decimal

    from django.utils.translation import get_language

    return formatting.percent(
        Decimal(str(value)) / 100, formatting.language_of(get_language()), places=int(places)
    )


@register.filter
def share_of(count: Any, total: Any) -> Any:
    """``count`` as a share of ``total`` (for ``|percent``); nothing when the total is 0."""
    from decimal import Decimal

    if not total:
        return None
    return Decimal(count) / Decimal(total)


@register.filter
def points(value: Any) -> str:
    """A difference of shares (0.031) in percentage points (``3,1``)."""
    if value is None or value == "":
        return formatting.EMPTY
    from decimal import Decimal

    from django.utils.translation import get_language

    return formatting.number(
        Decimal(str(value)) * 100, formatting.language_of(get_language()), places=1
    )


@register.filter
def wrap_list(value: Any) -> list[Any]:
    """One message as a list (for fund/_errors.html)."""
    return [value]
