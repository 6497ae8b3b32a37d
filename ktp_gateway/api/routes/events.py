"""Reader and card events as Server-Sent Events (`GET /v1/events`), like pcsc_scan on the web."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.api.deps import EventsDep, ServicesDep
from ktp_gateway.api.limits import RateLimited
from ktp_gateway.reader.monitor import ReaderEvent

router = APIRouter(prefix="/v1/events", tags=["readers"])

HEARTBEAT_SECONDS = 15.0  # keeps proxies and idle timeouts from closing a quiet stream


def _frame(event: ReaderEvent) -> str:
    data = json.dumps({k: v for k, v in asdict(event).items() if v is not None})
    return f"event: {event.kind.value}\ndata: {data}\n\n"


async def _stream(request: Request, events: AsyncIterator[ReaderEvent]) -> AsyncIterator[str]:
    yield ": ktp-gateway reader events\n\n"
    next_event = asyncio.ensure_future(anext(events))
    try:
        while not await request.is_disconnected():
            done, _ = await asyncio.wait({next_event}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield ": heartbeat\n\n"
                continue
            try:
                event = next_event.result()
            except StopAsyncIteration:
                return
            yield _frame(event)
            next_event = asyncio.ensure_future(anext(events))
    finally:
        next_event.cancel()


class _Slot:
    """One open stream's place in its client's share; released once, however the stream ends."""

    def __init__(self, streams: _Streams, client: str) -> None:
        self.streams, self.client, self.held = streams, client, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.streams.open[self.client] -= 1


class _Streams:
    """Open event streams per client, bounded (`api.max_event_streams_per_client`)."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()

    def take(self, client: str, limit: int) -> _Slot:
        if self.open[client] >= limit:
            raise RateLimited(
                "this client holds its share of event streams", retry_after=HEARTBEAT_SECONDS
            )
        self.open[client] += 1
        return _Slot(self, client)


def _streams_of(request: Request) -> _Streams:
    """This app's stream counts (one table per app, kept on its state)."""
    state = request.app.state
    if not hasattr(state, "event_streams"):
        state.event_streams = _Streams()
    streams: _Streams = state.event_streams
    return streams


@router.get("", response_class=StreamingResponse)
async def reader_events(
    request: Request, hub: EventsDep, caller: CallerDep, services: ServicesDep
) -> StreamingResponse:
    """Current reader state as events, then reader attached/detached and card inserted/removed.

    A client may hold `api.max_event_streams_per_client` streams at once (429 beyond).
    """
    limit = services.settings.api.max_event_streams_per_client
    slot = _streams_of(request).take(caller.name, limit)

    async def stream() -> AsyncIterator[str]:
        try:
            async for chunk in _stream(request, hub.subscribe()):
                yield chunk
        finally:
            slot.release()

    body = stream()
    weakref.finalize(body, slot.release)  # a stream never started (the caller left first)
    return StreamingResponse(body, media_type="text/event-stream")
