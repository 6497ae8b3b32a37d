"""Overwrite the byte buffers that held card or registry data when the request ends.

Python can only do this for mutable buffers (`bytearray`, writable `memoryview`): code that
receives card files or a registry answer into a `bytearray` registers it with `track`, and the
request's `wipe_scope` zeroes every registered buffer on the way out, success or error.
`bytes` and `str` are immutable and are freed, not overwritten (docs/no-storage.md says where).
The scope lives in a context variable, so worker threads started with `asyncio.to_thread`
(which copies the context) register into the request that started them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar


class Buffers:
    """The buffers one request registered."""

    def __init__(self) -> None:
        self._buffers: list[bytearray] = []
        self._lock = threading.Lock()
        self.wiped_bytes = 0

    def add(self, buffer: bytearray) -> None:
        with self._lock:
            self._buffers.append(buffer)

    def wipe(self) -> int:
        """Zero every registered buffer in place; return how many bytes were overwritten."""
        with self._lock:
            buffers, self._buffers = self._buffers, []
        for buffer in buffers:
            wipe(buffer)
            self.wiped_bytes += len(buffer)
        return self.wiped_bytes


_current: ContextVar[Buffers | None] = ContextVar("ktp_gateway_wipe_scope", default=None)


def wipe(buffer: bytearray | memoryview) -> None:
    """Overwrite in place (same length, so the buffer is not reallocated)."""
    buffer[:] = bytes(len(buffer))


def track(buffer: bytearray) -> bytearray:
    """Register `buffer` to be zeroed when the current request ends (no-op outside one)."""
    scope = _current.get()
    if scope is not None:
        scope.add(buffer)
    return buffer


@contextlib.contextmanager
def wipe_scope() -> Iterator[Buffers]:
    """One request: everything tracked inside is zeroed on exit."""
    buffers = Buffers()
    token = _current.set(buffers)
    try:
        yield buffers
    finally:
        _current.reset(token)
        buffers.wipe()
