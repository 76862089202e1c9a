# ruff: noqa: RUF012
"""Raw files are kept only while an import can go on (decision 0620); the preview is stored
on the batch; the process running an import is recorded so that a dead one is recovered
(decision 0622).

The data step deletes the files kept so far of imports already committed or refused and
the files of refused uploads that no import names (they held clear personnummer).
"""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def _delete_raw_files(apps, schema_editor):
    batch_model = apps.get_model("imports", "ImportBatch")
    for batch in batch_model.objects.filter(status__in=("committed", "invalid", "failed")).exclude(
        file_path=""
    ):
        Path(batch.file_path).unlink(missing_ok=True)
        batch_model.objects.filter(pk=batch.pk).update(file_path="")
    named = set(batch_model.objects.exclude(file_path="").values_list("file_path", flat=True))
    folder = Path(settings.MEDIA_ROOT) / "imports"
    if folder.is_dir():
        for path in folder.rglob("*"):
            if path.is_file() and str(path) not in named:
                path.unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [("imports", "0003_table_segments")]

    operations = [
        migrations.AlterField(
            model_name="importbatch",
            name="file_path",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="preview",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="runner",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_delete_raw_files, migrations.RunPython.noop, elidable=True),
    ]
