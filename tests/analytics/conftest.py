"""One local Spark session for the whole test run (Spark allows one per JVM)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark_session():
    """A local[2] SparkSession: no UI, bound to 127.0.0.1, few shuffle partitions."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java is not on PATH)")
    from utfall.analytics import local_spark_session

    session = local_spark_session(cores=2, shuffle_partitions=2, app_name="utfall-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
