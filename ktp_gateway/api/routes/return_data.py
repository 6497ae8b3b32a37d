"""Data balikan: queue return data for Dukcapil, list the outbox, retry dead-lettered items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from ktp_gateway.api.deps import OutboxDep
from ktp_gateway.returns.models import (
    ItemStatus,
    ReturnDataItem,
    ReturnDataList,
    ReturnDataRequest,
)

router = APIRouter(prefix="/v1/return-data", tags=["return data"])


@router.post("", status_code=202, response_model=ReturnDataItem)
async def queue_return_data(
    body: ReturnDataRequest,
    outbox: OutboxDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ReturnDataItem:
    """Queue one item durably (answered only once it is committed); a repeat returns the twin."""
    item, created = await outbox.enqueue(
        body.nik, body.nomor_register, body.nomor_sk_rapat_paripurna, caller_key=idempotency_key
    )
    response.status_code = 202 if created else 200
    response.headers["Cache-Control"] = "no-store"
    return item


@router.get("", response_model=ReturnDataList)
async def list_return_data(
    outbox: OutboxDep,
    status: ItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReturnDataList:
    """Items still in the outbox (delivered ones are deleted) and counts by status."""
    return await outbox.list(status, limit)


@router.get("/{item_id}", response_model=ReturnDataItem)
async def get_return_data(item_id: str, outbox: OutboxDep) -> ReturnDataItem:
    """One outbox item (404 once delivered: delivered items are deleted)."""
    return await outbox.get(item_id)


@router.post("/{item_id}/retry", response_model=ReturnDataItem)
async def retry_return_data(item_id: str, outbox: OutboxDep) -> ReturnDataItem:
    """Put a dead-lettered item back in the queue with fresh attempts."""
    await outbox.retry(item_id)
    return await outbox.get(item_id)
