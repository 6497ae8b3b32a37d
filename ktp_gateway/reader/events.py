"""Fan the monitor's events out to asyncio subscribers (the SSE stream) with bounded queues."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from ktp_gateway.reader.monitor import EventKind, Listener, ReaderEvent, SlotState

SUBSCRIBER_QUEUE = 256  # a subscriber that falls this far behind is cut off, not buffered forever


class _SlowSubscriberError(Exception):
    pass


class EventSource(Protocol):
    """A monitor thread (PC/SC, or the serial family's poller)."""

    family: str | None

    def add_listener(self, listener: Listener) -> None: ...

    def remove_listener(self, listener: Listener) -> None: ...

    def slots(self) -> dict[str, SlotState]: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


class EventHub:
    """Bridges the monitor threads to the event loop; each subscriber has its own bounded queue."""

    def __init__(self, monitors: Sequence[EventSource], loop: asyncio.AbstractEventLoop) -> None:
        self.monitors = list(monitors)
        self._loop = loop
        self._queues: set[asyncio.Queue[ReaderEvent | None]] = set()
        for monitor in self.monitors:
            monitor.add_listener(self._from_thread)
        # Events of other sources now (the access point's desks): a new subscriber's first state.
        self.more_state: Callable[[], list[ReaderEvent]] = list

    def close(self) -> None:
        for monitor in self.monitors:
            monitor.remove_listener(self._from_thread)
        for queue in list(self._queues):
            self._offer(queue, None)

    def _from_thread(self, event: ReaderEvent) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._publish, event)

    def publish(self, event: ReaderEvent) -> None:
        """An event from another source (a desk), on the event loop's thread."""
        self._publish(event)

    def _publish(self, event: ReaderEvent) -> None:
        for queue in list(self._queues):
            self._offer(queue, event)

    def _offer(self, queue: asyncio.Queue[ReaderEvent | None], event: ReaderEvent | None) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self._queues.discard(queue)
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)  # tells the subscriber to end: it missed events

    async def subscribe(self) -> AsyncIterator[ReaderEvent]:
        """The current state as events first (attached, inserted), then every change."""
        queue: asyncio.Queue[ReaderEvent | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._queues.add(queue)
        try:
            for monitor in self.monitors:
                family = monitor.family
                for slot in sorted(monitor.slots().values(), key=lambda s: s.name):
                    yield ReaderEvent(0, EventKind.READER_ATTACHED, slot.name, 0.0, family=family)
                    if slot.card_present:
                        atr = slot.atr.hex().upper() or None
                        yield ReaderEvent(
                            0, EventKind.CARD_INSERTED, slot.name, 0.0, atr, family=family
                        )
            for known in self.more_state():
                yield known
            while True:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._queues.discard(queue)
