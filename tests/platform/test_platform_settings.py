"""Production settings pass `check --deploy`; a missing pseudonym key stops start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "UTFALL_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="utfall.platform.settings.production",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-for-the-deploy-check-only-0123456789",
        DJANGO_ALLOWED_HOSTS="utfall.example.org",
        UTFALL_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        UTFALL_SIGNING_KEY_SECRET="s" * 16 + "signing-key-secret-for-the-deploy-check-only",
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "utfall.platform.manage", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


@pytest.mark.slow
def test_check_deploy_passes_without_warnings(tmp_path):
    key = tmp_path / "pseudonym.key"
    made = _manage(
        tmp_path, "pseudonym_key", "create", str(key), UTFALL_PSEUDONYM_KEY_FILE=str(key)
    )
    assert made.returncode == 0, made.stderr
    result = _manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", UTFALL_PSEUDONYM_KEY_FILE=str(key)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.slow
def test_missing_key_file_is_a_clear_start_up_error(tmp_path):
    missing = tmp_path / "nowhere.key"
    result = _manage(tmp_path, "check", UTFALL_PSEUDONYM_KEY_FILE=str(missing))
    assert result.returncode != 0
    assert f"The pseudonym key file {missing} does not exist" in result.stderr
    assert not missing.exists()  # never a silent default in production
    unset = _manage(tmp_path, "check")
    assert unset.returncode != 0
    assert "UTFALL_PSEUDONYM_KEY_FILE must point to the pseudonym key file" in unset.stderr


def test_short_secret_key_is_refused(tmp_path):
    result = _manage(
        tmp_path, "check", DJANGO_SECRET_KEY="short", UTFALL_PSEUDONYM_KEY_FILE=str(tmp_path / "k")
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set to at least 50" in result.stderr
