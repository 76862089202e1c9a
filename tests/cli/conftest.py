"""Run ``utfall ARGS…`` as the console script runs it: ``utfall`` in this process through
the script's own entry point, ``utfall_script`` as the installed script in a process of
its own.

Both return a ``subprocess.CompletedProcess`` (``returncode``, ``stdout``, ``stderr``).
In-process is the default: a console script starts in about a second (its imports), and the
CLI tests make more than a hundred calls. The entry point is the same function the script
calls (``utfall.cli.main:main``, which maps errors to exit codes), with the same arguments,
environment and working directory; an exception it lets through becomes exit code 1 with
the traceback on stderr, as Python's would. The tests that are about the script itself (it
is installed, starts, prints a progress bar, exits 2 on bad input) use ``utfall_script``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
TIMEOUT = 120


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
def utfall_script():
    """Call the installed ``utfall ARGS…`` in a process of its own (text, never raises)."""
    script = _console_script()
    env = {**os.environ, **ENV}

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd or ROOT,
            env=env,
            timeout=TIMEOUT,
        )

    return run


@pytest.fixture(scope="session")
def utfall():
    """Call ``utfall ARGS…`` through the console script's entry point in this process."""
    from typer.testing import CliRunner

    from utfall.cli.main import main

    runner = CliRunner()

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        argv = ["utfall", *map(str, args)]
        code = 0
        with (
            runner.isolation(env=ENV) as (out, err, _),
            contextlib.chdir(cwd or ROOT),
            mock.patch.object(sys, "argv", argv),
            _consoles_sized_by_the_environment(),
        ):
            try:
                main()
            except SystemExit as stop:
                code = _exit_code(stop.code)
            except Exception:  # what the interpreter does with an uncaught error
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout = out.getvalue().decode(runner.charset, "replace")
            stderr = err.getvalue().decode(runner.charset, "replace")
        return subprocess.CompletedProcess(argv, code, stdout, stderr)

    return run


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"), as the interpreter prints it
    return 1


@contextlib.contextmanager
def _consoles_sized_by_the_environment():
    """The CLI's module-level Rich consoles measured as in a new process: a console takes
    ``COLUMNS`` when it is made, and this process may have had another (xdist sets 80)."""
    from rich.console import Console

    consoles = [
        value
        for name, module in list(sys.modules.items())
        if name.startswith("utfall.cli")
        for value in vars(module).values()
        if isinstance(value, Console)
    ]
    widths = [console._width for console in consoles]
    for console in consoles:
        console._width = None
    try:
        yield
    finally:
        for console, width in zip(consoles, widths, strict=True):
            console._width = width
