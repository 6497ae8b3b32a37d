"""A lean HTTP/1.1 load client: keep-alive connections, one request in flight on each.

The same client calls the gateway and the simulator directly, so their ratio is the gateway's
cost. It is hand-rolled on asyncio streams (no httpx) to spend as little of the 2 cores as it
can: the gateway and the simulator run on the same machine.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Target:
    """One POST endpoint with its body and headers, encoded once."""

    host: str
    port: int
    request: bytes

    @classmethod
    def post(cls, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Target:
        parts = urlsplit(url)
        payload = json.dumps(body).encode()
        lines = [
            f"POST {parts.path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, head + payload)


@dataclass
class LoadResult:
    """Latencies (seconds) of the requests that finished inside the window, and their statuses."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and the headers (names lower-cased) of a response's head."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ", 2)[1]), headers


async def _read_response(reader: asyncio.StreamReader) -> int:
    status, headers = _head(await reader.readuntil(HEADER_END))
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(target: Target, warmup: int) -> Stream:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    for _ in range(warmup):  # first requests pay for imports, pools, caches: not counted
        writer.write(target.request)
        await _read_response(reader)
    return reader, writer


async def _loop(
    stream: Stream, target: Target, deadline: float, limit: int, result: LoadResult
) -> None:
    reader, writer = stream
    while time.perf_counter() < deadline and result.count < limit:
        started = time.perf_counter()
        writer.write(target.request)
        status = await _read_response(reader)
        result.latencies.append(time.perf_counter() - started)
        result.statuses[status] = result.statuses.get(status, 0) + 1


async def run_load(
    target: Target, *, concurrency: int, seconds: float, limit: int = 10**9, warmup: int = 2
) -> LoadResult:
    """`concurrency` connections in a closed loop for `seconds` or until `limit` requests."""
    streams = await asyncio.gather(*(_connect(target, warmup) for _ in range(concurrency)))
    result = LoadResult()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(_loop(s, target, started + seconds, limit, result) for s in streams))
    finally:
        result.seconds = time.perf_counter() - started
        for _, writer in streams:
            writer.close()
    return result


def load(target: Target, **kwargs: Any) -> LoadResult:
    """`run_load` from synchronous code."""
    return asyncio.run(run_load(target, **kwargs))


class KeptConnection:
    """One keep-alive connection for calls made one at a time (the tap breakdown): the request
    encoded once, the answer read by Content-Length, so the client's wait is the wire's and the
    gateway's, not a client library's (httpx's sync client adds about 1 ms per call here)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._socket = socket.create_connection((target.host, target.port))
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def _until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return body

    def call(self) -> tuple[int, bytes]:
        """Send the request; the status and the body (Content-Length answers only)."""
        self._socket.sendall(self.target.request)
        status, headers = _head(self._until(HEADER_END))
        return status, self._exactly(int(headers["content-length"]))

    def close(self) -> None:
        self._socket.close()
