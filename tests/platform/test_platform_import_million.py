"""A one-million-row import finishes inside one transaction as one stored segment, reporting
progress, and the stored table reads back."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from utfall.platform.contracts.models import Role
from utfall.platform.imports.models import BatchStatus, TableSegment
from utfall.platform.imports.services import (
    import_commit,
    import_upload,
    import_validate,
    progress_key,
)

ROWS = 1_000_000
PEOPLE = 2_000


@pytest.mark.slow
@pytest.mark.django_db
def test_one_million_rows(world, settings, monkeypatch):
    settings.UTFALL_IMPORT_BATCH_SIZE = 10_000
    user = world.users[Role.COMMISSIONER]
    people = "reference,included_on\n" + "".join(f"E-{i:05d},2019-01-01\n" for i in range(PEOPLE))
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=SimpleUploadedFile("employees.csv", people.encode()),
        actor=user,
    )
    import_commit(batch=import_validate(batch=batch, actor=user), actor=user)

    months = [f"20{y:02d}-{m:02d}" for y in range(19, 62) for m in range(1, 13)]
    lines = ["reference,month,days"]
    for row in range(ROWS):
        lines.append(f"E-{row % PEOPLE:05d},{months[row // PEOPLE]},{row % 7}")
    content = ("\n".join(lines) + "\n").encode()

    seen: list[int] = []
    real_set = cache.set

    def spy(key, value, *args, **kwargs):
        if key == progress_key(batch.pk):
            seen.append(value["done"])
        return real_set(key, value, *args, **kwargs)

    start = time.perf_counter()
    batch = import_upload(
        contract=world.contract,
        table="placement_days",
        uploaded=SimpleUploadedFile("sick.csv", content),
        actor=user,
    )
    assert batch.row_count == ROWS
    monkeypatch.setattr(cache, "set", spy)
    batch = import_validate(batch=batch, actor=user)
    assert batch.status == BatchStatus.VALID, batch.findings[:3]
    batch = import_commit(batch=batch, actor=user)
    elapsed = time.perf_counter() - start
    assert batch.status == BatchStatus.COMMITTED
    assert batch.rows_written == ROWS
    segment = TableSegment.objects.get(batch=batch)
    assert (segment.row_count, segment.new_rows) == (ROWS, ROWS)
    from utfall.platform.tables import StoredTables

    stored = StoredTables(world.contract).table("placement_days")
    assert stored.num_rows == ROWS and stored.column("days").to_pylist()[:8] == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        0,
    ]
    assert batch.task_id  # a background task, not the request
    # Progress was reported along the way (about every 1 %), twice over (validate, commit).
    assert len(seen) >= 150 and seen == sorted(seen[: len(seen) // 2]) + sorted(
        seen[len(seen) // 2 :]
    )
    print(f"\n{ROWS:,} rows uploaded, validated and committed in {elapsed:.0f} s")
