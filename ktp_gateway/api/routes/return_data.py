"""Data balikan: queue return data for Dukcapil, list the outbox, retry dead-lettered items.

Each item belongs to the client application that queued it (and names its officer): a client
lists, reads and retries only its own, another client's id answers exactly like an unknown one;
a client the clients file marks `outbox_operator` (or the machine itself, without configured
authentication) sees every item, as `ktp-gateway returns` does on the access point.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import ConfigDict, Field

from ktp_gateway.api.accountability import Accountable
from ktp_gateway.api.auth import CallerDep, limit_officer
from ktp_gateway.api.deps import OutboxDep, ServicesDep
from ktp_gateway.privacy.policy import Operation, current_request_id
from ktp_gateway.returns.models import (
    ItemStatus,
    NomorRegister,
    ReturnDataItem,
    ReturnDataList,
    ReturnDataRequest,
)

router = APIRouter(prefix="/v1/return-data", tags=["return data"])


class ReturnDataSubmission(ReturnDataRequest, Accountable):
    """One person whose data the agency accessed, and the officer who sends it and why."""

    model_config = ConfigDict(extra="forbid")

    nomor_register: NomorRegister = Field(  # required here: the item is about this case
        description="The agency's case register number.", examples=["REG-0042/LPSK/2026"]
    )


@router.post(
    "",
    status_code=202,
    response_model=ReturnDataItem,
    responses={
        200: {
            "model": ReturnDataItem,
            "description": "Already queued (the same item or Idempotency-Key): the queued twin, "
            "a success a retry can rely on",
        }
    },
)
async def queue_return_data(
    body: ReturnDataSubmission,
    outbox: OutboxDep,
    services: ServicesDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ReturnDataItem:
    """Queue one item durably (answered only once it is committed); a repeat returns the twin.

    Audited like every access: the officer, the purpose, the client and the register number.
    """
    who = body.accountability(caller.name)
    await limit_officer(services, who.officer_id)
    async with services.policy.access(
        Operation.RETURN_DATA, who, request_id=current_request_id()
    ) as access:
        item, created = await outbox.enqueue(
            body.nik,
            body.nomor_register,
            body.nomor_sk_rapat_paripurna,
            caller_key=idempotency_key,
            owner=caller.name,
            officer=who.officer_id,
        )
        access.outcome = "queued" if created else "already_queued"
        access.return_data_queued = created
    response.status_code = 202 if created else 200
    response.headers["Cache-Control"] = "no-store"
    return item


@router.get("", response_model=ReturnDataList)
async def list_return_data(
    outbox: OutboxDep,
    caller: CallerDep,
    status: ItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReturnDataList:
    """This client's items still in the outbox (delivered ones are deleted), counts by status."""
    return await outbox.list(status, limit, caller.outbox_scope)


@router.get("/{item_id}", response_model=ReturnDataItem)
async def get_return_data(item_id: str, outbox: OutboxDep, caller: CallerDep) -> ReturnDataItem:
    """One of this client's outbox items (404 once delivered: delivered items are deleted)."""
    return await outbox.get(item_id, caller.outbox_scope)


@router.post("/{item_id}/retry", response_model=ReturnDataItem)
async def retry_return_data(item_id: str, outbox: OutboxDep, caller: CallerDep) -> ReturnDataItem:
    """Put one of this client's dead-lettered items back in the queue with fresh attempts."""
    await outbox.retry(item_id, caller.outbox_scope)
    return await outbox.get(item_id, caller.outbox_scope)
