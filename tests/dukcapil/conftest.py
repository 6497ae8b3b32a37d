"""Fixtures: the Dukcapil simulator as a real process on a free loopback port, and clients for it.

Two long-lived simulators (legacy and coded style) serve the session; each test starts from a
reset. Tests that stop or reconfigure a server start their own with `start_simulator`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ktp_gateway.dukcapil_client import DukcapilClient, DukcapilSettings, KeyStyle
from ktp_gateway_dev.simulators.population import load_population

REPO = Path(__file__).resolve().parents[2]
USER_ID = "UJICOBA-TEST"
PASSWORD = "sandi-ujicoba-test"
CALLER_IP = "127.0.0.1"
CONSUMER_PATH = "3171/lpsk"  # two segments, as seen (a region code and an agency id)

PEOPLE = {p.key: p for p in load_population().people}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Simulator:
    """A running simulator process and its admin endpoints."""

    process: subprocess.Popen[bytes]
    port: int
    style: str
    log: Any
    scheme: str = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.port}/_simulator/{path}"
        response = httpx.request(method, url, json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._admin("GET", "stats")
        return stats

    def reset(self) -> None:
        self._admin("POST", "reset")

    def fault(self, mode: str, **options: Any) -> None:
        self._admin("POST", "faults", {"mode": mode, **options})

    def arm(self, fault: dict[str, Any]) -> None:
        self._admin("POST", "faults", fault)

    def configure(self, **change: Any) -> None:
        self._admin("POST", "config", change)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


def _wait_ready(sim: Simulator, deadline: float) -> None:
    while time.monotonic() < deadline:
        if sim.process.poll() is not None:
            sim.log.seek(0)
            raise RuntimeError(f"simulator exited: {sim.log.read().decode(errors='replace')}")
        try:
            sim.stats()
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    sim.stop()
    raise RuntimeError("simulator did not start in time")


def start_simulator(
    *extra: str,
    style: str = "legacy",
    https: bool = False,
    env: dict[str, str] | None = None,
    allowed_ip: str = CALLER_IP,
) -> Simulator:
    """Spawn `python -m ktp_gateway_dev.simulators.dukcapil` and wait until it answers.

    With `env`, credentials come from the environment instead of flags.
    """
    port = free_port()
    credentials = [] if env else ["--user-id", USER_ID, "--password", PASSWORD]
    args = [
        sys.executable, "-m", "ktp_gateway_dev.simulators.dukcapil",
        "--host", "127.0.0.1", "--port", str(port), "--style", style,
        "--consumer-path", CONSUMER_PATH, *credentials, "--allowed-ip", allowed_ip, *extra,
    ]  # fmt: skip
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process; stop closes it)
    process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    sim = Simulator(process, port, style, log)
    if https:
        # Readiness is probed over plain HTTP; an HTTPS server answers that with a TLS error.
        sim.scheme = "https"
        _wait_tls_ready(sim, time.monotonic() + 20)
    else:
        _wait_ready(sim, time.monotonic() + 20)
    return sim


def _wait_tls_ready(sim: Simulator, deadline: float) -> None:
    while time.monotonic() < deadline:
        if sim.process.poll() is not None:
            raise RuntimeError("simulator exited")
        try:
            with socket.create_connection(("127.0.0.1", sim.port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sim.stop()
    raise RuntimeError("simulator did not start in time")


@pytest.fixture(scope="session")
def legacy_sim() -> Iterator[Simulator]:
    sim = start_simulator(style="legacy")
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def coded_sim() -> Iterator[Simulator]:
    sim = start_simulator(style="coded")
    yield sim
    sim.stop()


@pytest.fixture(params=["legacy", "coded"])
def sim(request: pytest.FixtureRequest) -> Simulator:
    """Each style's simulator in turn, freshly reset."""
    simulator: Simulator = request.getfixturevalue(f"{request.param}_sim")
    simulator.reset()
    return simulator


@pytest.fixture
def legacy(legacy_sim: Simulator) -> Simulator:
    legacy_sim.reset()
    return legacy_sim


def settings_for(sim: Simulator, **overrides: Any) -> DukcapilSettings:
    """Client settings that match the simulator, with short timeouts for tests."""
    values: dict[str, Any] = {
        "base_url": sim.base_url,
        "consumer_path": CONSUMER_PATH,
        "user_id": USER_ID,
        "password": PASSWORD,
        "ip_user": CALLER_IP,
        "key_style": KeyStyle.UPPER,
        "connect_timeout_seconds": 1.0,
        "read_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return DukcapilSettings.model_validate(values)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[DukcapilClient]:
    async with DukcapilClient(settings_for(sim)) as dukcapil:
        yield dukcapil


@pytest.fixture
async def legacy_client(legacy: Simulator) -> AsyncIterator[DukcapilClient]:
    async with DukcapilClient(settings_for(legacy)) as dukcapil:
        yield dukcapil
