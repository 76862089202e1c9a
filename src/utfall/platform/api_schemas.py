"""Error schemas every API router documents (the main API and the apps' routers)."""

from __future__ import annotations

from typing import Any

from ninja import Schema

from utfall.errors import Finding

__all__ = ["COMMON", "ERRORS", "ErrorOut", "request_finding"]


class ErrorOut(Schema):
    """The one error shape: a message, one line per problem, and the located findings."""

    message: str
    detail: list[str]
    findings: list[dict[str, Any]]


def request_finding(error: dict[str, Any]) -> Finding:
    """One of ninja's validation errors (``{"loc", "msg", "type"}``) as a finding."""
    location = [str(part) for part in error.get("loc", ())]
    return Finding(
        code=f"request-{error.get('type', 'invalid')}",
        message=str(error.get("msg", "invalid value")),
        path=".".join(location) or None,
    )


# Every endpoint can answer 401 (no or bad token) and 422 (a malformed request).
COMMON: dict[int, Any] = {401: ErrorOut, 422: ErrorOut}
# ... and, on a contract, 400 (refused input), 403 (not allowed) and 404 (not there or hidden).
ERRORS: dict[int, Any] = {**COMMON, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
