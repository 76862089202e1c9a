"""Reading the audit trail, and saying each event in words.

An event is stored as its action (``import.validated``) and its details (a JSON object the
service wrote). The audit page shows neither as stored: :func:`audit_entries` gives each
event a translated label and its details as "label: value" pairs in the active language
(numbers, amounts and dates by the formatting layer, roles and tables by their labels,
fingerprints shortened, internal ids left out).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from utfall.platform.audit.models import AuditEvent
from utfall.platform.permissions import Action, require
from utfall.services import formatting

__all__ = [
    "ACTION_LABELS",
    "DETAIL_LABELS",
    "AuditEntry",
    "HashText",
    "audit_entries",
    "audit_events_for_contract",
    "event_label",
    "event_summary",
]


def audit_events_for_contract(*, user: AbstractBaseUser, contract) -> QuerySet[AuditEvent]:
    """Every event of a contract, newest first, for a party of the contract."""
    require(user, Action.VIEW_AUDIT, contract)
    return AuditEvent.objects.filter(contract=contract).select_related("actor")


ACTION_LABELS: dict[str, Any] = {
    "contract.created": gettext_lazy("Contract created"),
    "contract.version_uploaded": gettext_lazy("New contract version uploaded"),
    "contract.amended": gettext_lazy("Contract amended"),
    "contract.in_force": gettext_lazy("Contract put in force"),
    "party.invited": gettext_lazy("Organisation invited"),
    "party.invitation_accepted": gettext_lazy("Invitation accepted"),
    "party.invitation_declined": gettext_lazy("Invitation declined"),
    "party.invitation_withdrawn": gettext_lazy("Invitation withdrawn"),
    "party.appointment_approved": gettext_lazy("Appointment approved"),
    "party.role_set": gettext_lazy("Party's role set"),
    "party.removed": gettext_lazy("Party removed"),
    "organisation.created": gettext_lazy("Organisation created"),
    "membership.added": gettext_lazy("Member added"),
    "membership.removed": gettext_lazy("Member removed"),
    "api_token.created": gettext_lazy("API token created"),
    "api_token.revoked": gettext_lazy("API token revoked"),
    "import.uploaded": gettext_lazy("File uploaded for import"),
    "import.mapped": gettext_lazy("Column mapping saved"),
    "import.validate_started": gettext_lazy("Validation started"),
    "import.validated": gettext_lazy("Import validated"),
    "import.validate_failed": gettext_lazy("Validation failed"),
    "import.commit_started": gettext_lazy("Import started"),
    "import.committed": gettext_lazy("Data imported"),
    "import.commit_failed": gettext_lazy("Import failed; nothing was written"),
    "finance.plan_uploaded": gettext_lazy("Financing plan uploaded"),
    "design.registered": gettext_lazy("Evaluation design registered"),
    "settlement.prepared": gettext_lazy("Settlement prepared"),
    "settlement.review_started": gettext_lazy("Settlement review started"),
    "settlement.commented": gettext_lazy("Settlement commented"),
    "settlement.signed": gettext_lazy("Settlement signed"),
    "settlement.revised": gettext_lazy("Settlement sent back for revision"),
    "settlement.discarded": gettext_lazy("Settlement discarded"),
    "ledger.cosigned": gettext_lazy("Ledger co-signed by a witness"),
    "council_meeting_recorded": gettext_lazy("Council meeting recorded"),
    "council_decision_added": gettext_lazy("Council decision added"),
    "council_decision_followed_up": gettext_lazy("Council decision followed up"),
    "fund_created": gettext_lazy("Fund created"),
    "fund_phases_set": gettext_lazy("Fund phases set"),
    "fund_call_created": gettext_lazy("Call opened"),
    "fund_call_closed": gettext_lazy("Call closed"),
    "fund_application_submitted": gettext_lazy("Application submitted"),
    "fund_application_screened": gettext_lazy("Application screened"),
    "fund_application_reviewed": gettext_lazy("Application reviewed"),
    "fund_selection_decided": gettext_lazy("Selection decided"),
    "fund_constellation_terminated": gettext_lazy("Constellation's financing ended"),
    "fund_report_submitted": gettext_lazy("Outcome report submitted"),
    "fund_report_evaluated": gettext_lazy("Outcome report evaluated"),
    "fund_outcome_paid": gettext_lazy("Outcome payment decided"),
    "knowledge_published": gettext_lazy("Published on the knowledge platform"),
    "knowledge_withdrawn": gettext_lazy("Withdrawn from the knowledge platform"),
    "knowledge_results_recorded": gettext_lazy("Results recorded for the knowledge platform"),
    "knowledge_lesson_added": gettext_lazy("Lesson added to the knowledge platform"),
}
"""What each action is called on the audit page."""

DETAIL_LABELS: dict[str, Any] = {
    "batch": gettext_lazy("Import"),
    "table": gettext_lazy("Table"),
    "file": gettext_lazy("File"),
    "rows": gettext_lazy("Rows"),
    "mapping": gettext_lazy("Columns"),
    "problems": gettext_lazy("Problems"),
    "rows_written": gettext_lazy("Rows imported"),
    "rows_unchanged": gettext_lazy("Rows already present"),
    "sha256": gettext_lazy("Checksum"),
    "rows_sha256": gettext_lazy("Checksum of the rows"),
    "snapshot_sha256": gettext_lazy("Checksum of the data shown"),
    "statement_sha256": gettext_lazy("Checksum of the statement"),
    "version": gettext_lazy("Version"),
    "commissioner": gettext_lazy("Commissioner"),
    "reason": gettext_lazy("Reason"),
    "organisation": gettext_lazy("Organisation"),
    "role": gettext_lazy("Role"),
    "old_role": gettext_lazy("Earlier role"),
    "new_role": gettext_lazy("New role"),
    "approved_by": gettext_lazy("Approved by"),
    "invited_by": gettext_lazy("Invited by"),
    "accepted_by": gettext_lazy("Accepted by"),
    "basis": gettext_lazy("Basis"),
    "settlement": gettext_lazy("Settlement"),
    "supersedes": gettext_lazy("Replaces settlement"),
    "period": gettext_lazy("Period"),
    "ledger_head": gettext_lazy("Ledger position"),
    "key": gettext_lazy("Signing key"),
    "witness": gettext_lazy("Witness"),
    "size": gettext_lazy("Ledger entries"),
    "root": gettext_lazy("Ledger root"),
    "call": gettext_lazy("Call"),
    "constellation": gettext_lazy("Constellation"),
    "qualified": gettext_lazy("Qualified"),
    "selected": gettext_lazy("Selected"),
    "total": gettext_lazy("Total"),
    "code": gettext_lazy("Constellation"),
    "baseline": gettext_lazy("Baseline report"),
    "amount": gettext_lazy("Amount"),
    "binding": gettext_lazy("Binding"),
    "stage": gettext_lazy("Stage"),
    "fund": gettext_lazy("Fund"),
    "name": gettext_lazy("Name"),
    "prefix": gettext_lazy("Starts with"),
    "user": gettext_lazy("User"),
    "held_on": gettext_lazy("Held on"),
    "as_of": gettext_lazy("Data as of"),
    "due_on": gettext_lazy("Due"),
    "kind": gettext_lazy("Kind"),
    "status": gettext_lazy("Status"),
    "evaluation": gettext_lazy("Evaluation"),
    "source": gettext_lazy("Source"),
}
"""What each detail is called on the audit page."""

# Internal ids: the page shows what the event is about in words, never these.
_HIDDEN = {"invitation", "comment", "organisation_id", "meeting", "decision", "contract"}
_IDS = {"batch", "settlement", "supersedes"}
_HASHES = {
    *("sha256", "rows_sha256", "snapshot_sha256", "statement_sha256"),
    *("ledger_head", "root", "key"),
}
_CHOICES = {"kind", "status", "stage"}
_COUNTS = {"rows", "problems", "rows_written", "rows_unchanged", "size", "selected", "version"}
_MONEY = {"amount", "total"}
_DATES = {"held_on", "as_of", "due_on"}
_ROLES = {"role", "old_role", "new_role"}


class HashText(str):
    """A shown fingerprint or checksum: the page sets it as ``<code data-hash>`` (it is
    there to be compared, not read as a number)."""

    is_hash = True


# Phrases the services write in English into a detail (``source``, ``basis``), said in
# words: (pattern, template); a date in a match is written in the language's form.
_PHRASES: dict[str, tuple[tuple[re.Pattern[str], Any], ...]] = {
    "source": (
        (
            re.compile(r"^fund report (?P<code>\S+) (?P<period>\d{4}-\d{2}-\d{2})$"),
            gettext_lazy("outcome report of %(code)s for the period from %(period)s"),
        ),
        (re.compile(r"^fund report (?P<code>\S+)$"), gettext_lazy("outcome report of %(code)s")),
    ),
    "basis": (
        (
            re.compile(r"^application (?P<number>\d+) to the fund's call$"),
            gettext_lazy("application %(number)s to the fund's call"),
        ),
        (
            re.compile(r"^evaluator of fund (?P<number>\d+)$"),
            gettext_lazy("the evaluator of fund %(number)s"),
        ),
    ),
}


def _phrase(key: str, value: Any, language: str) -> str:
    text = str(value)
    for pattern, template in _PHRASES.get(key, ()):
        match = pattern.match(text)
        if match is not None:
            params = match.groupdict()
            if "period" in params:
                params["period"] = formatting.date(params["period"], language)
            return str(template) % params
    return text


@dataclass(frozen=True)
class AuditEntry:
    """One event as the audit page shows it."""

    at: dt.datetime
    who: str
    action: str  # the stored action, for filters and tests; not shown
    label: str
    details: list[tuple[str, str]]


def event_label(action: str) -> str:
    """The action in words (in the active language)."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    return _("Other event")


def _role(value: Any) -> str:
    from utfall.platform.contracts.models import Role

    return str(Role(value).label) if value in Role.values else str(value)


def _choice(value: Any) -> str:
    """A stored choice (a council decision's kind or status, a lesson's kind, a
    publication's stage) by its label."""
    from utfall.platform.council.models import DecisionKind, DecisionStatus
    from utfall.platform.knowledge.models import LessonKind, Stage

    for choices in (DecisionKind, DecisionStatus, LessonKind, Stage):
        if value in choices.values:
            return str(choices(value).label)
    return str(value)


def _words(value: Any, language: str) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_words(v, language) for v in value)
    return str(value)


def _value(
    key: str, value: Any, language: str, labels: Mapping[str, str], columns: Mapping[str, str]
) -> str | None:
    if value is None or value == "" or value == [] or key in _HIDDEN:
        return None
    if key in _IDS:
        return f"#{value}"
    if key in _HASHES:
        text = str(value)
        return HashText(text[:12] + "…" if len(text) > 12 else text)
    if key in _PHRASES:
        return _phrase(key, value, language)
    if key in _COUNTS and not isinstance(value, bool):
        return formatting.number(value, language)
    if key in _MONEY:
        return formatting.money(value, language)
    if key in _DATES:
        return formatting.date(str(value), language)
    if key in _ROLES:
        return _role(value)
    if key in _CHOICES:
        return _choice(value)
    if key == "table":
        return labels.get(str(value), str(value))
    if key == "period" and "/" in str(value):
        start, _sep, end = str(value).partition("/")
        return f"{formatting.date(start, language)}–{formatting.date(end, language)}"
    if key == "mapping" and isinstance(value, Mapping):
        return ", ".join(f"{columns.get(t, t)} ← {s}" for t, s in value.items())
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_words(v, language)}" for k, v in value.items())
    return _words(value, language)


def event_summary(
    details: Mapping[str, Any],
    language: str,
    *,
    tables: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The event's details as (label, value) pairs in ``language``: ``tables`` and
    ``columns`` give the labels of the contract's tables and columns."""
    pairs = []
    with translation.override(language):
        for key, value in details.items():
            shown = _value(key, value, language, tables or {}, columns or {})
            if shown is None:
                continue
            label = DETAIL_LABELS.get(key)
            name = str(label) if label is not None else key.replace("_", " ").capitalize()
            pairs.append((name, shown))
    return pairs


def _declared_labels(contract, language: str) -> tuple[dict[str, str], dict[str, str]]:
    """The labels of the tables and columns the contract's newest version declares."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.imports.columns import IDENTITY_KINDS

    tables: dict[str, str] = {}
    columns: dict[str, str] = {k: v[0].text(language) for k, v in IDENTITY_KINDS.items()}
    try:
        version = latest_version(contract)
        declaration = parsed_version(version).data if version is not None else None
    except Exception:  # a version that no longer parses still has an audit trail
        declaration = None
    if declaration is not None:
        for table in declaration:
            tables[table.name] = table.label.text(language)
            for column in table.columns:
                columns.setdefault(column.name, column.label.text(language))
    return tables, columns


def audit_entries(
    *, user: AbstractBaseUser, contract, language: str = "sv", limit: int = 500
) -> list[AuditEntry]:
    """The contract's newest ``limit`` events in words, in ``language``."""
    events = audit_events_for_contract(user=user, contract=contract)[:limit]
    tables, columns = _declared_labels(contract, language)
    entries = []
    with translation.override(language):
        for event in events:
            entries.append(
                AuditEntry(
                    at=event.at,
                    who=event.actor.get_username() if event.actor else "—",
                    action=event.action,
                    label=event_label(event.action),
                    details=event_summary(event.details, language, tables=tables, columns=columns),
                )
            )
    return entries
