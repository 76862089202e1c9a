"""The Content-Security-Policy header on every response (Django 5.2 has none built in).

The policy comes from ``settings.UTFALL_CONTENT_SECURITY_POLICY`` (a mapping of
directive to sources, set in ``settings/base.py`` for every environment). Scripts
and styles load only from the platform's own origin: no inline ``<script>``, no
``onclick=`` handlers, no ``eval``; data for scripts travels in
``<script type="application/json">`` blocks (``json_script``), which the browser
never executes. See docs/decisions/0640-content-security-policy-middleware.md.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

__all__ = [
    "ContentSecurityPolicyMiddleware",
    "content_security_policy",
    "content_security_policy_for_document",
]

HEADER = "Content-Security-Policy"


def content_security_policy(directives: Mapping[str, Sequence[str]]) -> str:
    """The header value for ``directives`` (``{"script-src": ["'self'"], ...}``)."""
    return "; ".join(
        " ".join([name, *sources]) if sources else name for name, sources in directives.items()
    )


_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def content_security_policy_for_document(html: str) -> str:
    """The policy for a self-contained document (the council's printable report).

    Such a document carries its CSS in ``<style>`` blocks because the PDF renderer
    reads one HTML string; each block is allowed by its SHA-256 hash, so the page is
    styled in a browser too while any other inline style or script stays blocked.
    """
    directives = {name: list(sources) for name, sources in _policy().items()}
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in _STYLE_BLOCK.findall(html)
    ]
    directives["style-src"] = [*directives.get("style-src", ["'self'"]), *hashes]
    return content_security_policy(directives)


def _policy() -> Mapping[str, Sequence[str]]:
    policy: Mapping[str, Sequence[str]] = settings.UTFALL_CONTENT_SECURITY_POLICY
    return policy


class ContentSecurityPolicyMiddleware:
    """Add the configured policy to each response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.header = content_security_policy(settings.UTFALL_CONTENT_SECURITY_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.header
        return response
