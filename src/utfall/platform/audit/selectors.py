"""Reading the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from utfall.platform.audit.models import AuditEvent
from utfall.platform.permissions import Action, require

__all__ = ["audit_events_for_contract"]


def audit_events_for_contract(*, user: AbstractBaseUser, contract) -> QuerySet[AuditEvent]:
    """Every event of a contract, newest first, for a party of the contract."""
    require(user, Action.VIEW_AUDIT, contract)
    return AuditEvent.objects.filter(contract=contract).select_related("actor")
