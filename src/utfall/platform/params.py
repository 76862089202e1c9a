"""Request parameters read safely: anything malformed is a 404, never a 500.

A view that turns ``?correct=abc`` or a posted ``report_id`` into a number, or
``?lang=…`` into part of a header, reads it here.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _

__all__ = ["MAX_ID_DIGITS", "id_param", "language_param"]

MAX_ID_DIGITS = 18
"""Ids are 64-bit integers: more digits than this can name no row (and ``int()`` of a
very long string is itself refused by Python)."""


def id_param(value: str | None) -> int:
    """The row id in ``value``; :class:`Http404` unless it is 1–18 ASCII digits."""
    text = (value or "").strip()
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        raise Http404(_("No such item."))
    return int(text)


def language_param(value: str | None, default: str) -> str:
    """A language code of :setting:`LANGUAGES`; ``default`` when none is given.

    An unknown code is a 404: the value ends up in file names and headers.
    """
    if not value:
        return default
    codes = {code for code, _name in settings.LANGUAGES}
    if value not in codes:
        raise Http404(_("No such language."))
    return value
