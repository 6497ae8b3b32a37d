"""HTTP to Dukcapil: the only module of the gateway that imports the HTTP client (aiohttp).

One narrow interface, `HttpTransport.post(url, body, headers) -> Answer`, and one exception,
`TransportError`, whose `sent` says whether any byte of the request may have left (only a call
that never connected is safe to retry: a retry must not spend quota twice). aiohttp replaced
httpx here because its pool keeps up under concurrency: on the 2-core machine a forwarding app
reached 0.95 of the simulator with aiohttp and 0.05 with httpx (../shared/performance-notes.md,
and `python -m bench.upstream` on the real client path).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl

from ktp_gateway.dukcapil_client.interpret import Answer
from ktp_gateway.dukcapil_client.tls import is_pin_mismatch
from ktp_gateway.privacy.wipe import track

_CHUNK = 64 * 1024


class TransportError(Exception):
    """A call that failed below HTTP; the message names the failure, never a value sent."""

    def __init__(
        self, kind: str, *, sent: bool, tls: bool = False, pin_mismatch: bool = False
    ) -> None:
        super().__init__(kind)
        self.kind = kind  # connect | connect_timeout | timeout | too_large | <exception name>
        self.sent = sent
        self.tls = tls
        self.pin_mismatch = pin_mismatch


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class HttpTransport:
    """A keep-alive pool of at most `connections` connections to Dukcapil, opened on first use.

    `verify` is an SSLContext (CA bundle, pins), True (the system's trust) or False (insecure_dev
    only). No cookies are kept, no proxy is taken from the environment (NIKs go to Dukcapil
    only), redirects are not followed, and an answer over `max_bytes` is refused while it streams.
    """

    def __init__(
        self,
        *,
        connections: int,
        connect_seconds: float,
        read_seconds: float,
        verify: ssl.SSLContext | bool,
        max_bytes: int,
    ) -> None:
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=connect_seconds,
            sock_connect=connect_seconds,
            sock_read=read_seconds,
        )
        self._verify = verify
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connections,
                limit_per_host=0,
                ssl=self._verify,
                ttl_dns_cache=60,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                raise_for_status=False,
            )
            self._session = session
        return session

    async def post(self, url: str, body: Any, headers: Mapping[str, str]) -> Answer:
        """POST `body` as JSON; the answer whatever its status, or a TransportError."""
        session = self._open()
        try:
            async with session.post(
                url, json=body, headers=dict(headers), allow_redirects=False
            ) as response:
                received = await self._body(response)
                return Answer(
                    response.status,
                    response.headers.get("content-type", ""),
                    bytes(received),
                    response.headers.get("retry-after"),
                    response.headers.get("date"),
                )
        except aiohttp.ConnectionTimeoutError:
            raise TransportError("connect_timeout", sent=False) from None
        except aiohttp.ClientConnectorError as exc:
            # Nothing was written: DNS, refused, unreachable, or the TLS handshake (pins too).
            raise TransportError(
                "connect", sent=False, tls=_tls_failure(exc), pin_mismatch=is_pin_mismatch(exc)
            ) from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            raise TransportError("timeout", sent=True) from None
        except aiohttp.ClientError as exc:
            raise TransportError(type(exc).__name__, sent=True, tls=_tls_failure(exc)) from None

    async def _body(self, response: aiohttp.ClientResponse) -> bytearray:
        # Assembled in a bytearray the request's wipe scope zeroes when it ends.
        received = track(bytearray())
        async for chunk in response.content.iter_chunked(_CHUNK):
            if len(received) + len(chunk) > self._max_bytes:
                raise TransportError("too_large", sent=True)
            received += chunk
        return received

    async def peer_certificate(self, url: str) -> bytes | None:
        """The DER certificate an HTTPS `url`'s server presents (for the doctor), None otherwise.

        A handshake of its own with the pool's TLS settings (pins included), nothing sent: the
        pool hides which connection carried a call and releases it as soon as the answer is in.
        """
        parsed = yarl.URL(url)
        if parsed.scheme != "https" or parsed.host is None:
            return None
        context = self._verify if isinstance(self._verify, ssl.SSLContext) else None
        if context is None:
            context = ssl.create_default_context()
            if self._verify is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        async with asyncio.timeout(self._timeout.sock_connect):
            _, writer = await asyncio.open_connection(
                parsed.host, parsed.port, ssl=context, server_hostname=parsed.host
            )
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            return der
        finally:
            writer.close()

    async def aclose(self) -> None:
        """Close the pool (and wait for TLS connections to shut down)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
