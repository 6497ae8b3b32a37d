"""Managed child processes: a child that dies at start is reported with its exit code."""

from __future__ import annotations

import sys

import pytest

from ktp_gateway_dev.stack.processes import ManagedProcess, ProcessFailedError, free_port


def test_a_child_that_exits_at_start_is_reported_with_its_code() -> None:
    child = ManagedProcess(
        "quitter",
        [sys.executable, "-c", "raise SystemExit(3)"],
        ready_url=f"http://127.0.0.1:{free_port()}/",
        start_timeout=10,
    )
    with pytest.raises(ProcessFailedError, match="quitter exited with 3 at start"):
        child.start()
    assert child.process is None  # stopped and cleared
