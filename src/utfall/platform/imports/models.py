"""Import batches and the records they write."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    READY = "ready", _("Ready to validate")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    VALID = "valid", _("Valid, ready to import")
    INVALID = "invalid", _("Has errors")
    COMMITTED = "committed", _("Imported")
    FAILED = "failed", _("Import failed; nothing was written")


class Operation(models.TextChoices):
    VALIDATE = "validate", _("Validation")
    COMMIT = "commit", _("Import")


class ImportBatch(models.Model):
    """One uploaded file for one contract and one kind of data."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="import_batches"
    )
    kind = models.CharField(_("kind"), max_length=30)
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveBigIntegerField()
    encoding = models.CharField(max_length=20, default="utf-8")
    columns = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.MAPPING
    )
    operation = models.CharField(max_length=10, choices=Operation.choices, blank=True)
    rows_written = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list)
    finding_count = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            # The database itself refuses a second commit of the same file.
            models.UniqueConstraint(
                fields=["contract", "kind", "file_sha256"],
                condition=Q(status="committed"),
                name="one_commit_per_file",
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind}: {self.file_name}"


class DataRecord(models.Model):
    """One imported observation, in one narrow table for every kind of data.

    ``quantity`` holds days or scores, ``amount`` money (SEK, öre precision),
    ``category`` the cost category, placement type, subject or dimension and
    ``point`` the measurement point where a kind has one.
    """

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=30)
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.CASCADE, null=True, related_name="records"
    )
    date = models.DateField()
    category = models.CharField(max_length=100, blank=True)
    point = models.PositiveSmallIntegerField(null=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True)

    class Meta:
        indexes = (models.Index(fields=["contract", "kind", "date"]),)
