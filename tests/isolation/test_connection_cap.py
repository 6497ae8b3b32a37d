"""The connection cap, on its own gateway process (a small cap would disturb the other tests):
over `api.max_connections` a request is answered 503 at once, and served again once the held
connections go."""

from __future__ import annotations

import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ktp_gateway_dev.demo import gateway_env
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port

CAP = 8


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_over_the_cap_a_request_is_refused_at_once_and_served_again_after() -> None:
    with tempfile.TemporaryDirectory(prefix="ktp-cap-") as tmp:
        port = free_port()
        env = gateway_env(port, free_port(), "unused", data_dir=Path(tmp) / "data")
        env |= {
            "KTP_GATEWAY_API__MAX_CONNECTIONS": str(CAP),
            "KTP_GATEWAY_READER__MONITOR": "false",
        }
        url = f"http://127.0.0.1:{port}/healthz"
        with ManagedProcess.python_module(
            "gateway", "ktp_gateway.cli", "serve", ready_url=url, env=env,
            log_path=Path(tmp) / "gateway.log",
        ):  # fmt: skip
            held = [socket.create_connection(("127.0.0.1", port)) for _ in range(CAP)]
            try:
                assert _status(url) == 503  # held connections (idle, within their timeout)
            finally:
                for conn in held:
                    conn.close()
            assert _status(url) == 200
