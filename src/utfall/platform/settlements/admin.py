"""Admin: settlement statements, ledger entries and keys are shown read-only.

A final statement is immutable (DESIGN.md 5), the ledger is append-only and a
private key never leaves the server: the admin may look, not change (changes
go through the services, with their checks and audit events).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from utfall.platform.contracts.models import Settlement, SettlementStatus
from utfall.platform.settlements.models import EvaluatorKey, LedgerRecord, SettlementComment


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Settlement)
class SettlementAdmin(_ReadOnly):
    list_display = (
        "pk",
        "contract",
        "status",
        "period_start",
        "period_end",
        "created_at",
        "signed_at",
    )
    list_filter = ("status",)
    exclude = ("bundle",)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # A draft may be discarded by a superuser; a final statement never.
        return bool(
            obj is not None and obj.status != SettlementStatus.SIGNED and request.user.is_superuser
        )


@admin.register(LedgerRecord)
class LedgerRecordAdmin(_ReadOnly):
    list_display = ("sequence", "kind", "subject", "actor", "recorded_at", "hash")
    search_fields = ("subject", "hash", "data_sha256", "contract_identifier")


@admin.register(EvaluatorKey)
class EvaluatorKeyAdmin(_ReadOnly):
    list_display = ("user", "fingerprint", "created_at", "retired_at")
    exclude = ("private_key_encrypted",)


@admin.register(SettlementComment)
class SettlementCommentAdmin(_ReadOnly):
    list_display = ("settlement", "author", "roles", "created_at")
