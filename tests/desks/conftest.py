"""A real desk channel on loopback (real TLS, real WebSocket) and helpers to enrol desks on it."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ktp_gateway.desk_agent.identity import DeskIdentity, enrol
from ktp_gateway.desks.ca import utc_now
from ktp_gateway.desks.channel import DeskChannel
from ktp_gateway.desks.hub import DeskHubObserver
from ktp_gateway.desks.settings import DesksSettings
from ktp_gateway_dev.demo import demo_client, gateway_env
from ktp_gateway_dev.stack.desks import AccessPoint, access_point
from ktp_gateway_dev.stack.pki import ServerPki, dev_server_pki
from ktp_gateway_dev.stack.processes import free_port
from tests.ops.conftest import prometheus_binary  # noqa: F401 - a fixture for the desk scrape test


class CountingObserver(DeskHubObserver):
    def __init__(self) -> None:
        self.refused: Counter[str] = Counter()
        self.enrolments: Counter[str] = Counter()

    def frame_refused(self, code: str) -> None:
        self.refused[code] += 1

    def enrolment(self, outcome: str) -> None:
        self.enrolments[outcome] += 1


@dataclass
class ChannelRig:
    """A running access-point desk channel and what a test needs to reach it."""

    pki: ServerPki
    settings: DesksSettings
    observer: CountingObserver
    channel: DeskChannel | None = None

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.settings.port}"

    @property
    def hub(self):  # type: ignore[no-untyped-def]
        assert self.channel is not None
        return self.channel.hub

    async def start(self) -> None:
        self.channel = await DeskChannel.start(
            self.settings,
            cert_file=self.pki.cert,
            key_file=self.pki.key,
            agency="LPSK",
            observer=self.observer,
        )

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
            self.channel = None

    async def enrol(self, name: str, directory: Path) -> DeskIdentity:
        code = self.hub.roster.invite(name, minutes=5, now=utc_now())
        return await enrol(self.url, code, self.pki.ca, directory)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[ChannelRig]:
    settings = DesksSettings(
        enabled=True, port=free_port(), dir=tmp_path / "desks", heartbeat_seconds=0.5
    )
    rig = ChannelRig(dev_server_pki(tmp_path / "pki"), settings, CountingObserver())
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def eventually(check: Callable[[], bool | Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait until `check()` holds (polling), or fail the test."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.05)


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (blocking) until `check()` holds, or fail the test."""
    import time

    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


@dataclass(frozen=True)
class PlannedOffice:
    """An access point's settings and its simulator's, before either process starts."""

    point: AccessPoint
    simulator_port: int
    password: str
    api_key: str


def plan_office(folder: Path) -> PlannedOffice:
    """An access point wired to a Dukcapil simulator (both started by the caller), with a
    demo client key, its PKI and its data under `folder`."""
    password = secrets.token_urlsafe(12)
    simulator_port = free_port()
    api_key, clients = demo_client(folder)
    base = gateway_env(0, simulator_port, password, data_dir=folder / "ap", clients_file=clients)
    point = access_point(base, dev_server_pki(folder / "pki"), folder / "ap")
    point.api_key = api_key
    return PlannedOffice(point, simulator_port, password, api_key)
