"""The HTTP/1.1 protocols the gateway serves: uvicorn's, with the client certificate's name
(callers/tls.py) and a bound on how long a request may take to arrive.

httptools (uvicorn's fast parser, the default) and h11 (pure Python, `api.http_parser: h11`) get
the same two additions, so neither the mutual-TLS identity nor the read deadline pins the server
to one parser. uvicorn closes a connection that stays idle between requests (keep-alive timeout),
but nothing bounds a request that is being sent: a caller that opens a connection and sends
nothing, or sends its headers or body a byte at a time (slowloris), would hold a connection and
its memory for as long as it likes. Here every request must have arrived whole within
`read_timeout` seconds of the connection (or of the previous response); otherwise the
connection is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ktp_gateway.callers.tls import app_with_client_cert

log = structlog.get_logger("ktp_gateway.api")

READ_TIMEOUT_SECONDS = 10.0
HttpParser = Literal["httptools", "h11"]


class ReadDeadline:
    """Closes the connection when no whole request has arrived `seconds` after `arm()`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        seconds: float,
        request_in: Callable[[], bool],
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._seconds = seconds
        self._request_in = request_in  # a whole request is waiting for (or getting) its answer
        self._timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        """Start (or restart) the clock for the next request."""
        self.disarm()
        if not self._transport.is_closing():
            self._timer = self._loop.call_later(self._seconds, self._expired)

    def disarm(self) -> None:
        """The request is in: the app takes it on."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._transport.is_closing() or self._request_in():
            return
        # Headers or body still incomplete: a route waiting for the body sees a disconnect.
        log.info("request_read_timeout", seconds=self._seconds)
        self._transport.close()


class GatewayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the client certificate and the read deadline."""

    read_timeout: ClassVar[float] = READ_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = app_with_client_cert(self.app, transport)
        self._deadline = ReadDeadline(
            self.loop, transport, self.read_timeout, lambda: self.conn.their_state is h11.DONE
        )
        self._deadline.arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.DONE:
            self._deadline.disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._deadline.arm()  # the next request on this connection has the same budget

    def connection_lost(self, exc: Exception | None) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.disarm()
        super().connection_lost(exc)


class GatewayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the client certificate and the read deadline.

    httptools parses as bytes arrive and may finish a pipelined request before the previous
    answer is out, so "a whole request is in" is counted: requests parsed whole > answers sent.
    """

    read_timeout: ClassVar[float] = READ_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = app_with_client_cert(self.app, transport)
        self._whole = 0
        self._answered = 0
        self._deadline = ReadDeadline(
            self.loop, transport, self.read_timeout, lambda: self._whole > self._answered
        )
        self._deadline.arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._whole += 1
        if self._whole > self._answered:  # not an early answer's (e.g. 413) late body end
            self._deadline.disarm()

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()
        if self._whole <= self._answered:  # no pipelined request already whole
            self._deadline.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.disarm()
        super().connection_lost(exc)


def protocol_class(parser: HttpParser, read_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class uvicorn instantiates per connection, with this server's deadline."""
    base: type[asyncio.Protocol] = (
        GatewayHttpToolsProtocol if parser == "httptools" else GatewayH11Protocol
    )
    attributes: dict[str, Any] = {"read_timeout": read_timeout}
    return type(base.__name__, (base,), attributes)
