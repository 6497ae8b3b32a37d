"""A real gateway process with the return-data outbox on, for the crash and API tests."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ktp_gateway_dev.demo import gateway_env
from ktp_gateway_dev.simulators.dukcapil.config import DEFAULT_RETURN_TOKEN
from ktp_gateway_dev.stack.processes import ManagedProcess
from tests.dukcapil.conftest import CONSUMER_PATH, PASSWORD, USER_ID, Simulator

from .conftest import KEY


def outbox_env(sim: Simulator, store: dict[str, str], **extra: str) -> dict[str, str]:
    """The gateway's environment: the simulator, the outbox (fast retries for tests)."""
    return {
        "KTP_GATEWAY_DUKCAPIL__CONSUMER_PATH": CONSUMER_PATH,
        "KTP_GATEWAY_DUKCAPIL__USER_ID": USER_ID,
        "KTP_GATEWAY_DUKCAPIL__RETURNS__URL": f"{sim.base_url}/dukcapil/data-balikan/store",
        "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN": DEFAULT_RETURN_TOKEN,
        "KTP_GATEWAY_DUKCAPIL__RETURNS__ID_LEMBAGA": "LPSK-UJICOBA",
        "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
        "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY": KEY,
        "KTP_GATEWAY_RETURN_DATA__LEASE_SECONDS": "1.5",
        "KTP_GATEWAY_RETURN_DATA__POLL_SECONDS": "0.1",
        "KTP_GATEWAY_RETURN_DATA__BACKOFF_BASE_SECONDS": "0.1",
        "KTP_GATEWAY_RETURN_DATA__BACKOFF_MAX_SECONDS": "0.5",
        "KTP_GATEWAY_LIMITS__CLIENT_BURST": "10000",
        "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "100000",
        "KTP_GATEWAY_LIMITS__OFFICER_BURST": "10000",
        "KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE": "100000",
        **{f"KTP_GATEWAY_RETURN_DATA__{key.upper()}": value for key, value in store.items()},
        **extra,
    }


class Gateway:
    """`python -m ktp_gateway.cli serve` on a free port; `kill()` sends SIGKILL to its group."""

    def __init__(
        self, port: int, sim: Simulator, env: dict[str, str], log: Path, *args: str
    ) -> None:
        self.port = port
        full = {**gateway_env(port, sim.port, PASSWORD), **env}
        self.env = full  # the settings, for a command run beside it (`ktp-gateway agreement`)
        self.process = ManagedProcess.python_module(
            "gateway", "ktp_gateway.cli", "serve", *args,
            ready_url=f"http://127.0.0.1:{port}/healthz", env=full, log_path=log,
        )  # fmt: skip

    def __enter__(self) -> Gateway:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would: no shutdown code runs."""
        child = self.process.process
        assert child is not None
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
        self.process.process = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status), json.load(response)
        except urllib.error.HTTPError as error:
            return int(error.code), json.load(error)
