# ruff: noqa: RUF012
"""Each import's problems counted by reason and column, with the first few of each
(decision 0830)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0004_raw_files_preview_runner"),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="finding_groups",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
