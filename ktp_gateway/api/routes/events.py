"""Reader and card events as Server-Sent Events (`GET /v1/events`), like pcsc_scan on the web."""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.api.deps import EventsDep, ServicesDep
from ktp_gateway.api.known_keys import KnownKeys, Present
from ktp_gateway.api.limits import RateLimited
from ktp_gateway.reader.monitor import EventKind, ReaderEvent

router = APIRouter(prefix="/v1/events", tags=["readers"])

HEARTBEAT_SECONDS = 15.0  # keeps proxies and idle timeouts from closing a quiet stream


class ReaderEventData(KnownKeys):
    """The JSON of one event's `data:` line; keys without a value are left out."""

    seq: int = Field(description="numbered in the order the changes happened (per monitor)")
    kind: EventKind = Field(description="the same word as the event's `event:` line")
    at: float = Field(description="when it happened (Unix seconds)")
    reader: Present[str] = Field(default=None, description="the reader's name")
    atr: Present[str] = Field(default=None, description="card_inserted: the card's ATR (hex)")
    code: Present[str] = Field(default=None, description="monitor_down: the error code")
    desk: Present[str] = Field(default=None, description="the desk whose reader it is")
    family: Present[str] = Field(default=None, description="integrated: a serial reader")


_EXAMPLE = ReaderEventData(
    seq=3, kind=EventKind.CARD_INSERTED, at=1767225600.25, reader="VPCD 00 00", atr="3b8f8001"
)
# One event as the contract names it: its `event:` and `data:` lines.
EVENT_FRAME: dict[str, Any] = {
    "type": "object",
    "description": "One Server-Sent Event: its `event:` line and its `data:` line.",
    "required": ["event", "data"],
    "properties": {
        "event": {"$ref": "#/components/schemas/EventKind"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/ReaderEventData"},
        },
    },
}
_FRAME_REF = {"$ref": "#/components/schemas/ReaderEventFrame"}
# The 200 of `GET /v1/events`: OpenAPI 3.1 has no item schema for a stream (3.2's `itemSchema`,
# kept as `x-itemSchema` in FastAPI's shape), so the body is a string whose decoded content
# is the sequence of frames (JSON Schema's contentMediaType and contentSchema).
STREAM_RESPONSE: dict[str, Any] = {
    "description": "Server-Sent Events: for each change an `event:` line (its kind, an "
    "EventKind) and a `data:` line (one ReaderEventData as JSON); the readers' current state "
    f"first; a comment line (`: heartbeat`) every {HEARTBEAT_SECONDS:.0f} s while quiet.",
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "string",
                "description": "a stream of events that does not end while the client listens",
                "contentMediaType": "text/event-stream",
                "contentSchema": {"type": "array", "items": _FRAME_REF},
            },
            "x-itemSchema": _FRAME_REF,
            "example": ": ktp-gateway reader events\n\n"
            f"event: card_inserted\ndata: {_EXAMPLE.model_dump_json()}\n\n",
        }
    },
}


def _frame(event: ReaderEvent) -> str:
    data = ReaderEventData.model_validate(asdict(event)).model_dump_json()
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


@router.get("", response_class=StreamingResponse, responses={200: STREAM_RESPONSE})
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
