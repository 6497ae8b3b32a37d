"""Data balikan queued by a verification itself: no second call for the case application.

A verification that found the person in the registry and carries the case's nomor register and
nomor SK rapat paripurna queues the return item when `return_data.auto_after_verification` is on.
If the outbox cannot take it, the verification's answer says so (`queued: false` with the code)
rather than failing a verification whose registry access already happened: the caller then
sends `POST /v1/return-data` itself.
"""

from __future__ import annotations

import structlog
from pydantic import BaseModel

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.returns.outbox import Outbox

log = structlog.get_logger("ktp_gateway.returns")


class ReturnDataReceipt(BaseModel):
    """What became of the verification's data balikan."""

    queued: bool
    id: str | None = None
    code: ErrorCode | None = None  # why it was not queued


async def queue_after_verification(
    outbox: Outbox | None,
    *,
    nik: str,
    found: bool,
    nomor_register: str | None,
    nomor_sk: str | None,
    owner: str | None = None,
    officer: str | None = None,
) -> ReturnDataReceipt | None:
    """Queue the item when everything it needs is there; None when nothing was asked."""
    if outbox is None or not outbox.settings.auto_after_verification:
        return None
    if not (found and nomor_register and nomor_sk):
        return None
    try:
        item, _ = await outbox.enqueue(nik, nomor_register, nomor_sk, owner=owner, officer=officer)
    except GatewayError as exc:
        log.error("returns.auto_queue_failed", code=exc.code.value)
        return ReturnDataReceipt(queued=False, code=exc.code)
    return ReturnDataReceipt(queued=True, id=item.id)
