"""Process hardening: no core dumps, not dumpable, private umask (checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHECK = """
import json, os, resource
from ktp_gateway.privacy.hardening import dumpable, harden
before = dumpable()
result = harden()
print(json.dumps({"before": before, "dumpable": dumpable(), "core": resource.getrlimit(
    resource.RLIMIT_CORE), "umask": os.umask(0o022), "reported": result.dumpable}))
"""


def test_harden_turns_off_core_dumps_and_the_dumpable_flag() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=30
    )
    state = json.loads(done.stdout)
    assert state["before"] == 1  # a normal process is dumpable...
    assert state["dumpable"] == 0 and state["reported"] == 0  # ...the hardened one is not
    assert state["core"] == [0, 0]
    assert state["umask"] == 0o077


def test_serve_refuses_apdu_tracing_without_the_development_switch() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ktp_gateway.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KTP_GATEWAY_LOG__LEVEL": "APDU"},
    )
    assert done.returncode == 2
    assert "development switch" in done.stderr and "configuration_error" in done.stderr
