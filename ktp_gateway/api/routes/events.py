"""Reader and card events as Server-Sent Events (`GET /v1/events`), like pcsc_scan on the web."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ktp_gateway.api.deps import EventsDep
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


@router.get("", response_class=StreamingResponse)
async def reader_events(request: Request, hub: EventsDep) -> StreamingResponse:
    """Current reader state as events, then reader attached/detached and card inserted/removed."""
    return StreamingResponse(_stream(request, hub.subscribe()), media_type="text/event-stream")
