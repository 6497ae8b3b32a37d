"""Group commit: the records of concurrent requests share one write, one fsync, one head update.

Each caller hands its record to one writer thread and waits until the batch holding it is on
disk, so a request is still answered only after its record is durable; a crash (SIGKILL, power
cut) can only lose records whose callers were still waiting, i.e. accesses never answered. Under
load the fsync, the lock and the tail read are paid once per batch instead of once per request.

A coroutine waits on its own loop's future, settled with one `call_soon_threadsafe` per batch
and loop: the round trip through a `concurrent.futures.Future` and `asyncio.wrap_future` (a
lock, a condition, two callbacks and a wake-up per record) cost a request about 2.5 times as
much CPU (50 against 20 µs per hop under a busy uvloop).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ktp_gateway.audit.chain import AuditError, Kind, Record
from ktp_gateway.audit.trail import Trail

MAX_BATCH = 512  # records per write: bounds one batch's latency under a flood


Loop = asyncio.AbstractEventLoop
Settled = list[tuple["asyncio.Future[Record]", "Record | AuditError"]]


@dataclass(frozen=True, slots=True)
class _Pending:
    kind: Kind
    data: Mapping[str, Any]
    done: Future[Record] | None  # a plain thread's caller
    waiter: tuple[Loop, asyncio.Future[Record]] | None = None  # a coroutine's, on its loop


class GroupCommit:
    """`append` from any thread or coroutine; one writer thread batches what is waiting."""

    def __init__(self, trail: Trail, *, max_batch: int = MAX_BATCH) -> None:
        self.trail = trail
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # writes so far (each one fsync): records / batches is the sharing

    def submit(self, kind: Kind, data: Mapping[str, Any]) -> Future[Record]:
        """Queue one record; the future holds it once durable (or the AuditError)."""
        done: Future[Record] = Future()
        self._put(_Pending(kind, data, done))
        return done

    async def append(self, kind: Kind, data: Mapping[str, Any]) -> Record:
        """Append and wait, off the event loop, until the record is durable."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Record] = loop.create_future()
        self._put(_Pending(kind, data, None, (loop, waiter)))
        return await waiter

    def _put(self, pending: _Pending) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="audit-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(pending)

    def append_sync(self, kind: Kind, data: Mapping[str, Any]) -> Record:
        """The same, for a caller on a plain thread (the return-data outbox)."""
        return self.submit(kind, data).result()

    def close(self) -> None:
        """Write what is queued, then stop the writer thread (a later append starts another)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
                thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        # Written even if its caller went away: the access happened. A caller that left before
        # the batch began gets no result (nobody waits on a cancelled future).
        waiting = [
            item.done.set_running_or_notify_cancel() if item.done is not None else True
            for item in batch
        ]
        try:
            results = self.trail.append_many([(item.kind, item.data) for item in batch])
        except AuditError as exc:
            results = [exc] * len(batch)
        except Exception as exc:  # never leave a caller waiting forever
            failure = AuditError(f"the audit record could not be written ({type(exc).__name__})")
            results = [failure] * len(batch)
        self.batches += 1
        on_loops: dict[Loop, Settled] = {}
        for item, result, live in zip(batch, results, waiting, strict=True):
            if item.waiter is not None:
                loop, waiter = item.waiter
                on_loops.setdefault(loop, []).append((waiter, result))
            elif item.done is not None and live:
                if isinstance(result, BaseException):
                    item.done.set_exception(result)
                else:
                    item.done.set_result(result)
        for loop, settled in on_loops.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that loop has closed: nobody is left waiting on it
                continue


def _settle(settled: Settled) -> None:
    """On the waiters' loop: each result to its waiter, unless the waiter has given up."""
    for waiter, result in settled:
        if waiter.done():
            continue
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)
