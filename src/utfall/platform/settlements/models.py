"""Ledger entries, evaluator keys, review comments and finance plans.

The statement itself is ``contracts.Settlement`` (it predates this app); these
models hang off it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from utfall.core.ledger import LedgerEntry, entry_from_dict, format_time


class LedgerRecord(models.Model):
    """One entry of the platform's hash-chained ledger; rows are only ever added."""

    sequence = models.PositiveBigIntegerField(_("number"), unique=True)
    kind = models.CharField(_("kind"), max_length=30)
    subject = models.CharField(_("subject"), max_length=300)
    data_sha256 = models.CharField(max_length=64)
    actor = models.CharField(_("actor"), max_length=150)
    recorded_at = models.DateTimeField(_("recorded"))
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    attributes = models.JSONField(default=dict)
    # Text, not a foreign key: the ledger must not change when other tables do.
    contract_identifier = models.CharField(max_length=120, blank=True, db_index=True)
    # 1: written before the entry hash covered the contract; 2: it does (decision 0651).
    entry_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ("sequence",)
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.sequence} {self.kind} {self.subject}"

    def as_dict(self) -> dict[str, Any]:
        """The entry's JSON form, exactly as the core hashes it (format 2 with its contract)."""
        data: dict[str, Any] = {
            "sequence": self.sequence,
            "kind": self.kind,
            "subject": self.subject,
            "data_sha256": self.data_sha256,
            "actor": self.actor,
            "recorded_at": format_time(self.recorded_at),
            "previous_hash": self.previous_hash,
            "attributes": self.attributes,
            "hash": self.hash,
        }
        if self.entry_version != 1:
            data["entry_version"] = self.entry_version
            data["contract"] = self.contract_identifier
        return data

    def entry(self) -> LedgerEntry:
        """The core's form of the entry (its hash is kept as stored, to be checked)."""
        return entry_from_dict(self.as_dict())


class EvaluatorKey(models.Model):
    """An evaluator's Ed25519 key pair; the private half is stored encrypted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signing_keys"
    )
    public_key = models.CharField(_("public key (base64)"), max_length=64)
    fingerprint = models.CharField(_("fingerprint (SHA-256)"), max_length=64, unique=True)
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ("user__username", "-created_at")
        verbose_name = _("evaluator key")
        verbose_name_plural = _("evaluator keys")

    def __str__(self) -> str:
        return f"{self.user} {self.fingerprint[:16]}"


class SettlementComment(models.Model):
    """A party's remark on a statement under review."""

    settlement = models.ForeignKey(
        "contracts.Settlement", on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    roles = models.CharField(_("role"), max_length=100)
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        ordering = ("created_at", "pk")
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.author} on {self.settlement_id}"


class FinancePlan(models.Model):
    """The finance plan (YAML, docs/finance.md) of a contract; the newest one counts."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="finance_plans"
    )
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ("-uploaded_at", "-pk")

    def __str__(self) -> str:
        return f"{self.contract_id} plan {self.pk}"


class LogKey(models.Model):
    """The platform's Ed25519 key that signs the ledger's tree heads (checkpoints).

    Stored like the evaluators' keys: the private half encrypted (``keys.py``).
    """

    name = models.CharField(_("log name (origin)"), max_length=200)
    public_key = models.CharField(_("public key (base64)"), max_length=64)
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = _("log key")
        verbose_name_plural = _("log keys")

    def __str__(self) -> str:
        return self.name


class LogCheckpoint(models.Model):
    """A signed tree head of the ledger: its size, root and the signed note."""

    size = models.PositiveBigIntegerField(_("tree size"), unique=True)
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    key = models.ForeignKey(LogKey, on_delete=models.PROTECT, related_name="checkpoints")
    created_at = models.DateTimeField(_("signed"), auto_now_add=True)

    class Meta:
        ordering = ("-size",)
        verbose_name = _("signed tree head")
        verbose_name_plural = _("signed tree heads")

    def __str__(self) -> str:
        return f"{self.size} {self.root_hash[:16]}"


class WitnessCosignature(models.Model):
    """A witness's cosignature (c2sp.org/tlog-cosignature) on one signed tree head."""

    checkpoint = models.ForeignKey(
        LogCheckpoint, on_delete=models.CASCADE, related_name="cosignatures"
    )
    name = models.CharField(_("witness"), max_length=200)
    verifier_key = models.CharField(_("witness key"), max_length=300)
    line = models.TextField()
    signed_at = models.DateTimeField(_("cosigned"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ("checkpoint", "name")
        constraints = (
            models.UniqueConstraint(
                fields=("checkpoint", "verifier_key"), name="one_cosignature_per_witness_key"
            ),
        )
        verbose_name = _("witness cosignature")
        verbose_name_plural = _("witness cosignatures")

    def __str__(self) -> str:
        return f"{self.name} on {self.checkpoint_id}"
