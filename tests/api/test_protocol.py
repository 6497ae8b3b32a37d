"""The server's HTTP protocols, httptools and h11 alike: a request must arrive whole in time.

A real uvicorn server on a real socket, each parser in turn, with a read deadline short enough
to watch: silent, slow-header and slow-body callers are cut off; a prompt caller, a keep-alive
caller and a pipelining caller whose answers take longer than the deadline are all served.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from ktp_gateway.api.protocol import protocol_class
from ktp_gateway_dev.stack.processes import free_port

DEADLINE = 0.6
ANSWER_DELAY = 1.0  # longer than the deadline: the clock stops once a request is in


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/slow":
        await asyncio.sleep(ANSWER_DELAY)
    body = scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    chosen = free_port()
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=chosen,
        http=protocol_class(request.param, DEADLINE),
        loop="uvloop" if request.param == "httptools" else "asyncio",
        timeout_keep_alive=30,  # longer than any test: only the read deadline closes
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield chosen
    server.should_exit = True
    thread.join(timeout=10)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_within(conn: socket.socket, seconds: float) -> bool:
    conn.settimeout(seconds)
    try:
        while conn.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _request(path: str, body: bytes = b"") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def _answers(conn: socket.socket, count: int) -> list[bytes]:
    """The bodies of the next `count` answers (each with a Content-Length)."""
    conn.settimeout(5)
    data, bodies = b"", []
    while len(bodies) < count:
        head, sep, rest = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
             if line.startswith(b"content-length:")),
            None,
        )  # fmt: skip
        if sep and length is not None and len(rest) >= length:
            assert head.startswith(b"HTTP/1.1 200")
            bodies.append(rest[:length])
            data = rest[length:]
            continue
        chunk = conn.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return bodies


def test_a_silent_caller_is_cut_off(port: int) -> None:
    started = time.monotonic()
    with _connect(port) as conn:
        assert _closed_within(conn, 3)
    assert DEADLINE - 0.1 < time.monotonic() - started < 3


def test_headers_sent_a_byte_at_a_time_are_cut_off(port: int) -> None:
    with _connect(port) as conn:
        started = time.monotonic()
        for byte in b"POST /fast HTTP/1.1\r\nHost: x\r\n":
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
        assert _closed_within(conn, 3)
    assert time.monotonic() - started < DEADLINE + 1


def test_a_body_that_stops_arriving_is_cut_off(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        assert _closed_within(conn, 3)


def test_an_answer_slower_than_the_deadline_is_still_sent(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(_request("/slow", b"{}"))
        assert _answers(conn, 1) == [b"/slow"]


def test_keep_alive_requests_each_get_the_budget_and_an_idle_partial_one_is_cut_off(
    port: int,
) -> None:
    with _connect(port) as conn:
        for _ in range(3):
            conn.sendall(_request("/fast"))
            assert _answers(conn, 1) == [b"/fast"]
            time.sleep(DEADLINE / 2)
        conn.sendall(b"POST /fast HTTP/1.1\r\n")
        assert _closed_within(conn, 3)


def test_pipelined_requests_waiting_for_a_slow_answer_are_served(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(_request("/slow") + _request("/slow") + _request("/fast"))
        assert _answers(conn, 3) == [b"/slow", b"/slow", b"/fast"]
