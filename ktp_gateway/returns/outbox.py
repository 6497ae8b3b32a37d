"""The return-data outbox: enqueue durably, deliver with backoff, dead-letter, delete when held.

`enqueue` returns only after the item is committed to the store, so an item the API accepted
survives any crash. Delivery is at least once; Dukcapil's "Data sudah pernah dikirim" for a
repeat makes it exactly once as Dukcapil sees it (each item is accepted by it once), which the
SIGKILL test proves through the simulator's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import structlog

from ktp_gateway.dukcapil_client.returns_wire import ReturnOutcome
from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.nik import mask_nik, validate_nik
from ktp_gateway.returns.models import ItemStatus, ReturnDataCounts, ReturnDataItem, ReturnDataList
from ktp_gateway.returns.sealing import Payload, Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.returns.store import DEAD, PENDING, OutboxStore, Row

log = structlog.get_logger("ktp_gateway.returns")


class Sender(Protocol):
    """What the outbox needs of the Dukcapil client."""

    async def send_return_data(
        self, nik: str, nomor_register: str, nomor_sk: str, *, idempotency_key: str
    ) -> ReturnOutcome: ...


class OutboxObserver(Protocol):
    def on_delivery(self, outcome: str) -> None: ...


class _NoMetrics:
    def on_delivery(self, outcome: str) -> None:
        """Ignore the delivery."""


def _when(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


class Outbox:
    """Durable data balikan: one per gateway process, sharing the store with other gateways."""

    def __init__(
        self,
        settings: ReturnDataSettings,
        store: OutboxStore,
        sealer: Sealer,
        sender: Sender,
        *,
        observer: OutboxObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.store, self._sealer, self._sender = settings, store, sealer, sender
        self._observer: OutboxObserver = observer or _NoMetrics()
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- the API's side ----------------------------------------------------------------------

    async def enqueue(
        self,
        nik: str,
        nomor_register: str,
        nomor_sk: str,
        *,
        caller_key: str | None = None,
        owner: str | None = None,
        officer: str | None = None,
    ) -> tuple[ReturnDataItem, bool]:
        """Store an item durably (or find its twin among `owner`'s); the item and whether it
        is new. `owner` (the client application) and `officer` are who answers for it."""
        payload = Payload(validate_nik(nik), nomor_register, nomor_sk, caller_key or None, owner)
        item_id = uuid.uuid4().hex
        now = self._clock()
        # The item's key under the current sealing key, and under the previous ones: its twin
        # queued before a rotation still answers for it.
        current, *previous = self._sealer.idempotency_keys(payload)
        row = Row(
            id=item_id,
            idempotency_key=current,
            sealed=self._sealer.seal(item_id, payload),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            last_error=None,
            created_at=now,
            owner=owner,
            officer=officer,
        )
        stored, created = await asyncio.to_thread(self.store.add, row, previous)
        if created:
            log.info("returns.queued", count=1)
            self._wake.set()
        return self._view(stored), created

    async def get(self, item_id: str, owner: str | None = None) -> ReturnDataItem:
        """One item; with `owner`, only that client's (another's answers as an unknown id)."""
        row = await asyncio.to_thread(self.store.get, item_id, owner)
        if row is None:
            raise GatewayError("no such return-data item", code=ErrorCode.RETURN_DATA_NOT_FOUND)
        return self._view(row)

    async def list(
        self, status: str | None = None, limit: int = 100, owner: str | None = None
    ) -> ReturnDataList:
        """Items (oldest first) and counts by status; with `owner`, only that client's."""
        stored = DEAD if status == ItemStatus.DEAD else PENDING if status else None
        rows = await asyncio.to_thread(self.store.list, stored, limit, owner)
        items = [self._view(row) for row in rows]
        if status == ItemStatus.DELIVERING:
            items = [item for item in items if item.status is ItemStatus.DELIVERING]
        elif status == ItemStatus.PENDING:
            items = [item for item in items if item.status is ItemStatus.PENDING]
        counts = await asyncio.to_thread(self.store.counts, owner)
        leased = await asyncio.to_thread(self.store.leased, self._clock(), owner)
        # The statuses partition the items, as each item's `status` does: a leased item is
        # delivering, not also pending.
        return ReturnDataList(
            items=items,
            counts=ReturnDataCounts(
                pending=max(0, counts.get(PENDING, 0) - leased),
                delivering=leased,
                dead=counts.get(DEAD, 0),
            ),
        )

    async def retry(self, item_id: str | None, owner: str | None = None) -> int:
        """Dead item(s) back in the queue with fresh attempts; one id or all (None); with
        `owner`, only that client's."""
        if item_id is not None:
            await self.get(item_id, owner)  # return_data_not_found
        count = await asyncio.to_thread(self.store.retry, item_id, self._clock(), owner)
        if item_id is not None and count == 0:
            raise GatewayError(
                "the item is not dead-lettered", code=ErrorCode.RETURN_DATA_NOT_RETRYABLE
            )
        if count:
            log.info("returns.retry", count=count)
            self._wake.set()
        return count

    def _view(self, row: Row) -> ReturnDataItem:
        status = ItemStatus.DEAD if row.status == DEAD else ItemStatus.PENDING
        if status is ItemStatus.PENDING and row.lease_until and row.lease_until > self._clock():
            status = ItemStatus.DELIVERING
        try:
            payload: Payload | None = self._sealer.open(row.id, row.sealed)
        except GatewayError:
            payload = None  # a key change: the listing still shows the bookkeeping
        return ReturnDataItem(
            id=row.id,
            status=status,
            nik_masked=mask_nik(payload.nik) if payload else None,
            nomor_register=payload.nomor_register if payload else None,
            attempts=row.attempts,
            next_attempt_at=_when(row.next_attempt_at) if status is ItemStatus.PENDING else None,
            last_error=row.last_error,
            created_at=_when(row.created_at) or dt.datetime.now(dt.UTC),
        )

    # -- delivery ----------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """One pass: lease due items and deliver them; how many were leased."""
        settings = self.settings
        rows = await asyncio.to_thread(
            self.store.claim, self._clock(), settings.batch_size, settings.lease_seconds
        )
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: Row) -> None:
        try:
            payload = self._sealer.open(row.id, row.sealed)
            outcome = await self._sender.send_return_data(
                payload.nik,
                payload.nomor_register,
                payload.nomor_sk,
                idempotency_key=row.idempotency_key,
            )
        except GatewayError as exc:
            await self._failed(row, exc.code.value)
            return
        await asyncio.to_thread(self.store.delivered, row.id)
        self._observer.on_delivery(outcome.value)
        log.info("returns.delivered", outcome=outcome.value, attempt=row.attempts)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: exponential, capped, with +-20 % jitter."""
        settings = self.settings
        base: float = settings.backoff_base_seconds * 2.0 ** max(attempts - 1, 0)
        jitter = random.uniform(0.8, 1.2)  # noqa: S311 (spreading retries, not a secret)
        return min(base, settings.backoff_max_seconds) * jitter

    async def _failed(self, row: Row, code: str) -> None:
        dead = row.attempts >= self.settings.max_attempts
        status = DEAD if dead else PENDING
        due = self._clock() + (0 if dead else self.backoff(row.attempts))
        await asyncio.to_thread(
            self.store.failed, row.id, status=status, next_attempt_at=due, error=code
        )
        self._observer.on_delivery("dead" if dead else "failed")
        event = "returns.dead_letter" if dead else "returns.retry_later"
        log.warning(event, code=code, attempt=row.attempts)

    # -- the worker --------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver in the background until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="return-data outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before the pass: an enqueue during it wakes the next wait
            try:
                leased = await self.deliver_due()
            except GatewayError as exc:  # the store is down: try again later
                log.warning("returns.outbox_unavailable", code=exc.code.value)
                leased = 0
            except Exception as exc:  # a bug must not stop delivery for good
                log.error("returns.worker_error", error=type(exc).__name__)
                leased = 0
            if leased:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
