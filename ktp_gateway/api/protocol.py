"""The HTTP/1.1 protocol the gateway serves: uvicorn's h11 one, with the client certificate's
name (callers/tls.py) and a bound on how long a request may take to arrive.

uvicorn closes a connection that stays idle between requests (keep-alive timeout), but nothing
bounds a request that is being sent: a caller that opens a connection and sends nothing, or
sends its headers or body a byte at a time (slowloris), would hold a connection and its memory
for as long as it likes. Here every request must have arrived whole within `read_timeout`
seconds of the connection (or of the previous response); otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
import structlog

from ktp_gateway.callers.tls import ClientCertH11Protocol

log = structlog.get_logger("ktp_gateway.api")

READ_TIMEOUT_SECONDS = 10.0


class GatewayH11Protocol(ClientCertH11Protocol):
    """One connection; `read_timeout` is set per server (see `with_read_timeout`)."""

    read_timeout: ClassVar[float] = READ_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        timer = getattr(self, "_read_timer", None)
        if timer is not None:
            timer.cancel()
            self._read_timer = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.DONE:  # the whole request is in: the app takes it on
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection has the same budget

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or self.conn.their_state is h11.DONE:
            return
        # Headers or body still incomplete: a route waiting for the body sees a disconnect.
        log.info("request_read_timeout", seconds=self.read_timeout)
        self.transport.close()


def with_read_timeout(seconds: float) -> type[GatewayH11Protocol]:
    """The protocol class with this server's read timeout (uvicorn instantiates the class)."""
    attributes: dict[str, Any] = {"read_timeout": seconds}
    return type("GatewayH11Protocol", (GatewayH11Protocol,), attributes)
