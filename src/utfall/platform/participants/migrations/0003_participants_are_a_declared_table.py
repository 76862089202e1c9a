# ruff: noqa: RUF012
"""Participants are the contract's declared ``participants`` table, stored as segments
(imports.TableSegment, decision 0206): the model goes, so the same facts are kept once."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0002_participant_left_on"),
        ("imports", "0003_table_segments"),
    ]

    operations = [
        migrations.DeleteModel(name="Participant"),
    ]
