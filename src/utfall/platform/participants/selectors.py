"""Reads for participants (pseudonyms only) and their imported data."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from utfall.platform.contracts.models import Contract
from utfall.platform.participants.models import Participant
from utfall.platform.permissions import Action, require

__all__ = ["participant_count", "participant_list"]


def participant_list(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[Participant]:
    """The contract's participants with the number of data records each has."""
    require(user, Action.VIEW_PARTICIPANTS, contract)
    return contract.participants.annotate(record_count=Count("records")).order_by(
        "included_on", "pk"
    )


def participant_count(*, contract: Contract) -> int:
    """How many participants the contract has (an aggregate every party may see)."""
    return contract.participants.count()
