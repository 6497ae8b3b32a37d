"""Group commit: the records of concurrent requests share one write, one fsync, one head update.

Each caller hands its record to one writer thread and waits until the batch holding it is on
disk, so a request is still answered only after its record is durable; a crash (SIGKILL, power
cut) can only lose records whose callers were still waiting, i.e. accesses never answered. Under
load the fsync, the lock and the tail read are paid once per batch instead of once per request.
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


@dataclass(frozen=True, slots=True)
class _Pending:
    kind: Kind
    data: Mapping[str, Any]
    done: Future[Record]


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
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="audit-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(_Pending(kind, data, done))
        return done

    async def append(self, kind: Kind, data: Mapping[str, Any]) -> Record:
        """Append and wait, off the event loop, until the record is durable."""
        return await asyncio.wrap_future(self.submit(kind, data))

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
        waiting = [item.done.set_running_or_notify_cancel() for item in batch]
        try:
            results = self.trail.append_many([(item.kind, item.data) for item in batch])
        except AuditError as exc:
            results = [exc] * len(batch)
        except Exception as exc:  # never leave a caller waiting forever
            failure = AuditError(f"the audit record could not be written ({type(exc).__name__})")
            results = [failure] * len(batch)
        self.batches += 1
        for item, result, live in zip(batch, results, waiting, strict=True):
            if not live:
                continue
            if isinstance(result, BaseException):
                item.done.set_exception(result)
            else:
                item.done.set_result(result)
