"""The platform's tests again, against PostgreSQL (started by scripts/start-postgres.sh).

Django supports one test database per process, so the PostgreSQL run is a child
pytest with DATABASE_URL pointing at the server. Skipped, saying why, when no
server answers.

It runs the tests of the parts where the database engine makes a difference
(transactions and row locks of the ledger and the settlement workflow, bulk
imports, JSON fields, sequences, the API over them), not every page test again:
pages read what these write, and the whole platform suite twice did not fit in
the suite's 15 minutes (decision 0866).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEFAULT_URL = "postgresql://utfall@127.0.0.1:54329/utfall"
HERE = Path(__file__).resolve().parent
# Where the database engine matters: locks, transactions, bulk writes, JSON, sequences.
ON_POSTGRESQL = (
    "test_platform_imports.py",
    "test_platform_tables.py",
    "test_platform_api.py",
    "test_platform_permissions.py",
    "settlement/test_settlement_workflow.py",
    "settlement/test_settlement_bundle.py",
    "council/test_council_meetings.py",
    "fund/test_fund_services.py",
    "fund/test_fund_settlement.py",
)


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
            *(str(HERE / name) for name in ON_POSTGRESQL),
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
