"""The platform's tests again, against PostgreSQL (started by scripts/start-postgres.sh).

Django supports one test database per process, so the PostgreSQL run is a child
pytest with DATABASE_URL pointing at the server. Skipped, saying why, when no
server answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEFAULT_URL = "postgresql://utfall@127.0.0.1:54329/utfall"
HERE = Path(__file__).resolve().parent


def _server_url() -> str:
    url = os.environ.get("UTFALL_TEST_POSTGRES_URL", DEFAULT_URL)
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception as error:  # any failure to connect means: no server here
        pytest.skip(
            f"no PostgreSQL server at {url} ({type(error).__name__}); "
            "start one with scripts/start-postgres.sh"
        )
    return url


@pytest.mark.postgres
@pytest.mark.slow
def test_platform_suite_on_postgresql():
    url = _server_url()
    # Its own test database: another run against the same server must not share it.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UTFALL_TEST_DATABASE_NAME": f"test_utfall_suite_{os.getpid()}",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE),
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-m",
            "not slow and not browser and not postgres",
            "-o",
            "addopts=",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
        cwd=HERE.parent.parent,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
