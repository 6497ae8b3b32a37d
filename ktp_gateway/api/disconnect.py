"""A caller that hangs up stops its card wait: the reader is not held for an answer nobody reads.

Without this a synchronous verification whose HTTP client timed out would keep the reader busy
until the wait ran out (up to a minute), and the officer's retry would get `reader_busy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from starlette.requests import Request


@contextlib.asynccontextmanager
async def cancel_on_disconnect(request: Request) -> AsyncIterator[threading.Event]:
    """An event that is set when the client disconnects while the block runs.

    The body has been read by then, so the next ASGI message is the disconnect: a task waits for
    it (polling `is_disconnected()` sees nothing behind Starlette's BaseHTTPMiddleware).
    """
    cancel = threading.Event()

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass  # a late body chunk: nothing to do with it
        cancel.set()

    watcher = asyncio.create_task(watch())
    try:
        yield cancel
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
