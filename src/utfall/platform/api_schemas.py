"""Error schemas every API router documents (the main API and the apps' routers)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

__all__ = ["COMMON", "ERRORS", "ErrorOut", "InvalidInputOut"]


class InvalidInputOut(Schema):
    detail: list[dict[str, Any]]


class ErrorOut(Schema):
    message: str
    detail: list[str] = Field(default_factory=list)
    findings: list[dict[str, Any]] = Field(default_factory=list)


# Every endpoint can answer 401 (no or bad token) and 422 (a malformed request).
COMMON: dict[int, Any] = {401: ErrorOut, 422: InvalidInputOut}
# ... and, on a contract, 400 (refused input), 403 (not allowed) and 404 (not there or hidden).
ERRORS: dict[int, Any] = {**COMMON, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
