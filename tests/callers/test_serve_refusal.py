"""`ktp-gateway serve` refuses an unauthenticated network bind at start, without echoing secrets."""

from __future__ import annotations

import os
import subprocess
import sys


def test_serve_refuses_a_network_bind_without_authentication() -> None:
    env = {
        **os.environ,
        "KTP_GATEWAY_API__HOST": "0.0.0.0",
        "KTP_GATEWAY_DUKCAPIL__PASSWORD": "sandi-rahasia-ujicoba",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ktp_gateway.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode != 0
    assert "needs caller authentication" in done.stderr
    assert "sandi-rahasia-ujicoba" not in done.stderr + done.stdout
