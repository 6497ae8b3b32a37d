"""The in-process harness drives the app's ASGI interface against the real simulator, briefly.
Not a timed test: the figure is printed, not checked. In a process of its own: the harness
configures logging and the environment as a gateway process does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lookups_through_the_app_in_a_process_of_their_own() -> None:
    argv = ["-m", "bench.inproc", "--requests", "20", "--batches", "2", "--concurrency", "4"]
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "app CPU per NIK lookup" in done.stdout


def test_the_budget_names_each_part() -> None:
    argv = ["-m", "bench.inproc", "--budget", "2", "--requests", "20", "--concurrency", "4"]
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parts = ("the Dukcapil client", "the audit write", "a bare thread hop", "of which the fsync")
    for part in (*parts, "GET /v1/caller"):
        assert part in done.stdout
