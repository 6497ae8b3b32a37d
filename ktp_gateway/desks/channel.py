"""The access point's desk channel, started and stopped with the API: CA, roster, TLS, hub."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from ktp_gateway.desks.ca import DeskCa, utc_now
from ktp_gateway.desks.hub import DeskHub, DeskHubObserver
from ktp_gateway.desks.roster import DeskRoster
from ktp_gateway.desks.settings import DesksSettings
from ktp_gateway.desks.tls import ChannelTls
from ktp_gateway.desks.transport import ChannelServer, Heartbeat, serve_channel


class DeskChannel:
    """The listener for desks and the hub behind it; `close` stops both."""

    def __init__(self, hub: DeskHub, server: ChannelServer, watcher: asyncio.Task[None]) -> None:
        self.hub, self.server, self._watcher = hub, server, watcher

    @classmethod
    async def start(
        cls,
        settings: DesksSettings,
        *,
        cert_file: Path,
        key_file: Path | None,
        agency: str,
        observer: DeskHubObserver | None = None,
    ) -> DeskChannel:
        clock = utc_now
        ca = DeskCa.open(settings.dir, agency=agency)
        roster = DeskRoster(settings.dir)
        hub = DeskHub(roster, ca, settings, clock=clock, observer=observer)
        tls = ChannelTls(
            cert_file=cert_file,
            key_file=key_file,
            ca=ca,
            roster=roster,
            directory=settings.dir,
            clock=clock,
        )
        heartbeat = Heartbeat(settings.heartbeat_seconds, 2 * settings.heartbeat_seconds)
        server = await serve_channel(
            hub.handle,
            host=settings.host,
            port=settings.port,
            context=tls.context,
            max_frame_bytes=settings.max_frame_bytes,
            heartbeat=heartbeat,
        )
        return cls(hub, server, asyncio.create_task(hub.watch()))

    async def close(self) -> None:
        self._watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watcher
        await self.hub.close()
        await self.server.close()
        self.hub.roster.close()
