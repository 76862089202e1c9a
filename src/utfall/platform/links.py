"""Links that people type (a call's documents, a lesson's report): http and https only.

A link a user stores is shown to every other user as ``<a href>``; a ``javascript:``
or ``data:`` link there is stored cross-site scripting. Links are therefore checked
where they enter (forms, services) and again where they are shown (the ``safe_link``
template filter), so a row written before the check, or by a path that forgot it,
still renders as plain text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["LINK_MAX_LENGTH", "LINK_SCHEMES", "link_is_safe", "link_problem"]

LINK_SCHEMES = ("http", "https")
LINK_MAX_LENGTH = 2000


def link_problem(url: str) -> str | None:
    """Why ``url`` may not be shown as a link, or ``None`` if it may.

    Browsers ignore control characters and white space inside a scheme
    (``java\\tscript:``), so any such character refuses the link outright rather
    than being stripped.
    """
    if len(url) > LINK_MAX_LENGTH:
        return f"a link may have at most {LINK_MAX_LENGTH} characters"
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in url):
        return "a link may not contain spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the link cannot be read"
    if parts.scheme.lower() not in LINK_SCHEMES:
        return "a link must start with http:// or https://"
    if not parts.hostname:
        return "a link must name a host"
    return None


def link_is_safe(url: str) -> bool:
    """True if ``url`` is an http(s) link with a host that may be put in an ``href``."""
    return link_problem(url) is None
