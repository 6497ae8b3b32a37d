"""Verification jobs: a tap that waits for a card in the background, polled and cancellable.

Jobs and their results live in this process's memory only. A finished job's result is dropped
`result_ttl_seconds` after it finished, whether or not anyone fetched it; a restart loses all.
A job belongs to the client that started it: to any other client it does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import structlog
from pydantic import BaseModel

from ktp_gateway.api.limits import RateLimited
from ktp_gateway.errors import ErrorCode, GatewayError

log = structlog.get_logger("ktp_gateway.api.jobs")

CANCEL_GRACE_SECONDS = 2.0  # a cancelled reader wait ends within one 250 ms PC/SC slice


class JobStatus(StrEnum):
    PENDING = "pending"  # waiting for the card, reading it, or asking Dukcapil
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobNotFound(GatewayError):
    code = ErrorCode.JOB_NOT_FOUND


@dataclass
class Job:
    """One background verification; `result` or `error` is set once it is no longer pending."""

    id: str
    owner: str
    status: JobStatus = JobStatus.PENDING
    result: BaseModel | None = None
    error: GatewayError | None = None
    finished_at: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


Work = Callable[[threading.Event], Awaitable[BaseModel]]


class JobStore:
    """In-memory jobs with a bound on how many exist and a short life after they finish."""

    def __init__(
        self, *, result_ttl: float, max_jobs: int, max_per_client: int | None = None
    ) -> None:
        self.result_ttl = result_ttl
        self.max_jobs = max_jobs
        self.max_per_client = max_jobs if max_per_client is None else max_per_client
        self._jobs: dict[str, Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def start(self, owner: str, work: Work) -> Job:
        """Run `work(cancel_event)` in the background as a new job of `owner`.

        Fair shares: an owner holds at most `max_per_client` jobs, and once `max_jobs` are
        held only an owner holding none gets one (owners are the clients file's, so the total
        stays bounded): one client's flood is refused, never another client's first job.
        """
        held = sum(1 for job in self._jobs.values() if job.owner == owner)
        if held >= self.max_per_client:
            raise RateLimited(
                "this client holds its share of verification jobs", retry_after=self.result_ttl
            )
        if held and len(self._jobs) >= self.max_jobs:
            raise RateLimited("too many verification jobs held", retry_after=self.result_ttl)
        job = Job(id=uuid.uuid4().hex, owner=owner)
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job, work))
        return job

    async def _run(self, job: Job, work: Work) -> None:
        try:
            job.result = await work(job.cancel)
            status = JobStatus.DONE
        except GatewayError as exc:
            job.error = exc
            cancelled = exc.code is ErrorCode.VERIFICATION_CANCELLED
            status = JobStatus.CANCELLED if cancelled else JobStatus.FAILED
        except Exception as exc:  # a bug must not leave a job pending forever
            log.error("verification job failed unexpectedly", error_type=type(exc).__name__)
            job.error = GatewayError("unexpected error; see the gateway log")
            status = JobStatus.FAILED
        self._finish(job, status)

    def _finish(self, job: Job, status: JobStatus) -> None:
        if job.finished_at is not None:
            return  # already cancelled: what the worker brings back is dropped
        job.status, job.finished_at = status, time.monotonic()
        if status is JobStatus.CANCELLED:
            job.result = None
        job.done.set()
        loop = asyncio.get_running_loop()
        loop.call_later(self.result_ttl, self._jobs.pop, job.id, None)

    def get(self, job_id: str, owner: str) -> Job:
        """The job, if it exists and belongs to `owner` (else the same not-found for both)."""
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound("no such verification job (or its result expired)")
        return job

    async def wait(self, job: Job, seconds: float) -> Job:
        """Long-poll: return when the job finishes or after `seconds`, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(job.done.wait(), timeout=seconds)
        return job

    async def cancel(self, job_id: str, owner: str) -> None:
        """Stop a pending job (the reader is free when this returns); forget a finished one."""
        job = self.get(job_id, owner)
        if job.finished_at is not None:
            self._jobs.pop(job.id, None)
            return
        job.cancel.set()
        job.error = GatewayError("cancelled by the caller", code=ErrorCode.VERIFICATION_CANCELLED)
        self._finish(job, JobStatus.CANCELLED)
        if job.task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(job.task), CANCEL_GRACE_SECONDS)

    def expires_in(self, job: Job) -> float | None:
        if job.finished_at is None:
            return None
        return max(0.0, round(job.finished_at + self.result_ttl - time.monotonic(), 2))

    async def close(self) -> None:
        """At shutdown: stop every pending job and drop every result."""
        for job in list(self._jobs.values()):
            job.cancel.set()
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()
