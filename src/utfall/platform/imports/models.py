"""Import batches and the stored rows they write (one Parquet segment per committed batch)."""

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
    """One uploaded file for one declared table of a contract."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="import_batches"
    )
    # The name of a table the contract declares under ``data:`` (``participants`` …).
    table = models.CharField(_("table"), max_length=63)
    file_name = models.CharField(_("file"), max_length=255)
    # The uploaded file while the import can still go on; empty once it is deleted
    # (committed, refused or expired: decision 0620).
    file_path = models.CharField(max_length=500, blank=True)
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
    # Every problem counted by reason and column, with the first few of each (the import
    # page shows these; ``findings`` holds them all, up to MAX_STORED_FINDINGS).
    finding_groups = models.JSONField(default=list, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The first rows as they will be imported (pseudonyms and masks only), so that the
    # import page does not read the file again; its "mapping" is the mapping it shows.
    preview = models.JSONField(default=dict, blank=True)
    # "host:pid" of the process running the validation or commit, and when it began:
    # an import whose process died is failed for a retry (decision 0622).
    runner = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints = (
            # The database itself refuses a second commit of the same file.
            models.UniqueConstraint(
                fields=["contract", "table", "file_sha256"],
                condition=Q(status="committed"),
                name="one_commit_per_table_file",
            ),
        )

    def __str__(self) -> str:
        return f"{self.table}: {self.file_name}"


class TableSegment(models.Model):
    """The validated rows one committed batch added to one declared table.

    ``data`` is a Parquet file in the canonical Arrow form of the table under the
    declaration of ``version`` (``utfall.services.tables.canonical_schema``);
    ``sha256`` is the rows' ``table_digest`` (the SHA-256 of their canonical CSV).
    ``new_rows`` counts the rows that add a key to the table (a participants file may
    also carry rows that only fill optional columns of known participants).
    Segments are only ever added; ``utfall.platform.tables.StoredTables`` reads them
    merged under the newest contract version (decision 0206).
    """

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="table_segments"
    )
    batch = models.OneToOneField(ImportBatch, on_delete=models.PROTECT, related_name="segment")
    table = models.CharField(max_length=63)
    version = models.ForeignKey(
        "contracts.ContractVersion", on_delete=models.PROTECT, related_name="+"
    )
    row_count = models.PositiveIntegerField()
    new_rows = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("pk",)
        indexes = (models.Index(fields=["contract", "table"], name="segment_contract_table"),)

    def __str__(self) -> str:
        return f"{self.table} segment {self.pk} ({self.row_count} rows)"
