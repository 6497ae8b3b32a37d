"""The desk channel's wire: WebSocket over TLS. The one module that imports `websockets`.

Both sides get a `Link`: send and receive one text frame, close, and the peer's certificate.
WebSocket pings carry the heartbeat (a peer silent past the ping timeout is dropped), frames over
`max_frame_bytes` close the connection (1009) before they are buffered whole.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ktp_gateway.errors import DeskError, ErrorCode

# websockets logs the start of every frame at DEBUG (cut short today, so a reading's data has not
# shown up in the canary run even without this), and frames carry personal data: its logger never
# goes below INFO, whatever level the gateway or desk runs at.
WIRE_LOG = logging.getLogger("ktp_gateway.desks.wire")
WIRE_LOG.setLevel(logging.INFO)

CLOSE_POLICY = 1008  # RFC 6455: the peer broke the rules (revoked, unknown, bad frame)
CLOSE_GOING_AWAY = 1001


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """WebSocket ping period and how long a pong may take before the peer counts as gone."""

    interval_seconds: float
    timeout_seconds: float


class Link:
    """One live WebSocket connection, either side."""

    def __init__(self, connection: ServerConnection | ClientConnection) -> None:
        self._connection = connection
        ssl_object = connection.transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        self.peer_certificate: bytes | None = certificate or None
        request = connection.request
        self.path = request.path if request is not None else ""

    async def send(self, text: str) -> None:
        try:
            await self._connection.send(text)
        except ConnectionClosed:
            raise DeskError("the desk channel closed", code=ErrorCode.DESK_UNAVAILABLE) from None

    async def receive(self) -> str:
        """The next text frame; a closed link is `desk_unavailable`, a binary frame invalid."""
        try:
            message = await self._connection.recv()
        except ConnectionClosed:
            raise DeskError("the desk channel closed", code=ErrorCode.DESK_UNAVAILABLE) from None
        if not isinstance(message, str):
            raise DeskError("a binary frame on the desk channel", code=ErrorCode.DESK_FRAME_INVALID)
        return message

    async def close(self, *, policy: bool = False, reason: str = "") -> None:
        await self._connection.close(CLOSE_POLICY if policy else CLOSE_GOING_AWAY, reason[:120])


class ChannelServer:
    """The access point's listener for desks; `close` stops it and drops every desk."""

    def __init__(self, server: Server) -> None:
        self._server = server

    @property
    def port(self) -> int:
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


async def serve_channel(
    handler: Callable[[Link], Awaitable[None]],
    *,
    host: str,
    port: int,
    context: ssl.SSLContext,
    max_frame_bytes: int,
    heartbeat: Heartbeat,
) -> ChannelServer:
    """Start listening; `handler` runs for each connection until it returns or the link closes."""

    async def on_connection(connection: ServerConnection) -> None:
        await handler(Link(connection))

    server = await serve(
        on_connection,
        host,
        port,
        ssl=context,
        max_size=max_frame_bytes,
        ping_interval=heartbeat.interval_seconds,
        ping_timeout=heartbeat.timeout_seconds,
        close_timeout=heartbeat.interval_seconds,  # a silent peer is dropped, not waited on
        server_header=None,
        logger=WIRE_LOG,  # no product or version in the handshake
    )
    return ChannelServer(server)


@asynccontextmanager
async def dial(
    url: str,
    *,
    context: ssl.SSLContext,
    max_frame_bytes: int,
    heartbeat: Heartbeat,
    open_timeout: float = 10.0,
) -> AsyncIterator[Link]:
    """Connect to the access point; a refused or failed handshake is `desk_unavailable`."""
    try:
        connection = await connect(
            url,
            ssl=context,
            max_size=max_frame_bytes,
            ping_interval=heartbeat.interval_seconds,
            ping_timeout=heartbeat.timeout_seconds,
            close_timeout=heartbeat.interval_seconds,
            open_timeout=open_timeout,
            user_agent_header=None,
            logger=WIRE_LOG,
        )
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        raise DeskError(
            f"the access point refused or did not answer ({type(exc).__name__})",
            code=ErrorCode.DESK_UNAVAILABLE,
        ) from None
    try:
        yield Link(connection)
    finally:
        await connection.close()
