"""Shared helpers of the benchmarks: timing, peak memory, machine description."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / "out" / "bench"


def best_of(repeat: int, func: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeat`` wall-clock runs of ``func`` and its last result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def run_measured(argv: Sequence[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command; return its wall time and peak resident memory (MiB).

    The peak comes from ``/usr/bin/time -f %M``: ``wait4`` in this process would be
    wrong, because Linux carries a forked child's pre-exec resident size (a copy
    of this, possibly large, process) into its ``ru_maxrss``. Without
    ``/usr/bin/time`` the child's ``VmHWM`` is polled instead.
    """
    timer = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
    start = time.perf_counter()
    if timer:
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
            command = [timer, "-f", "%M", "-o", report.name, *argv]
            proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False)
            elapsed = time.perf_counter() - start
            peak_kib = float(report.read().strip().splitlines()[-1])
    else:
        child = subprocess.Popen(list(argv), env=env, stdout=subprocess.DEVNULL)
        peak_kib = 0.0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, float(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.02)
        proc = child
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}")
    return {"seconds": elapsed, "peak_rss_mib": peak_kib / 1024}


def peak_rss_self_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """CPU, cores, memory and the versions that matter for the numbers."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for package in (
        "duckdb",
        "ibis-framework",
        "pyarrow",
        "numpy",
        "pandas",
        "pyfixest",
        "linearmodels",
        "pyspark",
        "psutil",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": versions,
    }


def print_header(title: str) -> None:
    """A visible section header in the benchmark output."""
    print(f"\n== {title} ==", flush=True)
