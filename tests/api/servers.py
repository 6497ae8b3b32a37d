"""The gateway under a real uvicorn server in a thread (for what TestClient cannot show)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ktp_gateway.api.app import create_app
from ktp_gateway.api.server import server_config
from ktp_gateway.config import Settings


@contextmanager
def serving(settings: Settings) -> Iterator[None]:
    """Run the app on settings.api.port until the block ends."""
    server = uvicorn.Server(server_config(create_app(settings), settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the gateway did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
