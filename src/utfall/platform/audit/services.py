"""Writing audit events (called by the other services only, inside their transaction)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from utfall.platform.audit.models import AuditEvent

__all__ = ["audit_record"]


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    contract: Any = None,
    **details: Any,
) -> AuditEvent:
    """Append one audit event; details must be JSON-serialisable and free of identities."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        contract=contract,
        action=action,
        details=details,
    )
