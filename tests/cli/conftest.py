"""Run the real ``utfall`` console script of the project's virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _console_script() -> str:
    candidate = Path(sys.executable).with_name("utfall")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("utfall")
    if not found:
        pytest.fail("the utfall console script is not installed (run `make install`)")
    return found


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def utfall():
    """Call ``utfall ARGS…``; returns the CompletedProcess (text, never raises)."""
    script = _console_script()
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd or ROOT,
            env=env,
            timeout=120,
        )

    return run
