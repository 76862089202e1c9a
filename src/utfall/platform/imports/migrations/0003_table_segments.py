# ruff: noqa: RUF012
"""Stored tables (decision 0206): a batch names a declared table; its rows become one Parquet
segment. The narrow DataRecord table (and participants.Participant) go.

The old rows were shaped by import kinds made for the reference contracts and cannot be
mapped to a contract's declared tables mechanically, so this migration refuses to run over
a database that holds any: export what you need and re-import it under the declaration
(or start from an empty database), or set UTFALL_DROP_LEGACY_IMPORTS=1 to drop them.
"""

import os

import django.db.models.deletion
from django.db import migrations, models


def _refuse_legacy_rows(apps, schema_editor):
    records = apps.get_model("imports", "DataRecord").objects.count()
    people = apps.get_model("participants", "Participant").objects.count()
    if (records or people) and os.environ.get("UTFALL_DROP_LEGACY_IMPORTS") != "1":
        raise RuntimeError(
            f"the database holds {people} participants and {records} imported records in the "
            "old import-kind layout; they cannot be converted to the contracts' declared "
            "tables. Re-import them after this migration (or set "
            "UTFALL_DROP_LEGACY_IMPORTS=1 to drop them) - see decision 0206."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_settlement_workflow"),
        ("imports", "0002_initial"),
        ("participants", "0002_participant_left_on"),
    ]

    operations = [
        migrations.RunPython(_refuse_legacy_rows, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="importbatch", name="one_commit_per_file"),
        migrations.RenameField(model_name="importbatch", old_name="kind", new_name="table"),
        migrations.AlterField(
            model_name="importbatch",
            name="table",
            field=models.CharField(max_length=63, verbose_name="table"),
        ),
        migrations.AlterModelOptions(
            name="importbatch", options={"ordering": ("-created_at", "-pk")}
        ),
        migrations.AddConstraint(
            model_name="importbatch",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "committed")),
                fields=("contract", "table", "file_sha256"),
                name="one_commit_per_table_file",
            ),
        ),
        migrations.DeleteModel(name="DataRecord"),
        migrations.CreateModel(
            name="TableSegment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("table", models.CharField(max_length=63)),
                ("row_count", models.PositiveIntegerField()),
                ("new_rows", models.PositiveIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("data", models.BinaryField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "batch",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="segment",
                        to="imports.importbatch",
                    ),
                ),
                (
                    "contract",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="table_segments",
                        to="contracts.contract",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contracts.contractversion",
                    ),
                ),
            ],
            options={
                "ordering": ("pk",),
                "indexes": [
                    models.Index(fields=["contract", "table"], name="segment_contract_table")
                ],
            },
        ),
    ]
