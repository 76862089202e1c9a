"""The file with thousands of bad rows the import-page tests upload (importable by name:
test modules must not import a conftest, which another folder may shadow)."""

from __future__ import annotations

import datetime as dt

from platform_helpers import csv_text

BAD_DATES, BAD_MINUTES, BAD_KEPT = 6000, 900, 40


def bad_visits_csv() -> str:
    """6,940 bad rows: impossible dates, negative minutes and a "maybe" that is no yes/no."""
    rows = [["2021-02-30", 30, "ja"] for _ in range(BAD_DATES)]
    start = dt.date(2020, 1, 1)
    rows += [[(start + dt.timedelta(days=i)).isoformat(), -5, "ja"] for i in range(BAD_MINUTES)]
    rows += [
        [(start + dt.timedelta(days=BAD_MINUTES + i)).isoformat(), 10, "kanske"]
        for i in range(BAD_KEPT)
    ]
    return csv_text(["Besöksdag", "Minuter", "Genomfört"], rows)
