"""Verification jobs: long-poll a background tap for its result, or cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.api.deps import Services, ServicesDep
from ktp_gateway.api.jobs import JobStore
from ktp_gateway.api.jobs_out import JOBS_PATH, JobOut, job_out

router = APIRouter(prefix=JOBS_PATH, tags=["verifications"])

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the job id from the 202")]


def _store(services: Services) -> JobStore:
    assert services.jobs is not None  # noqa: S101 - the lifespan sets it
    return services.jobs


@router.get("/{job_id}", response_model=JobOut)
async def get_job(
    job_id: JobId,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    wait: Annotated[
        float, Query(ge=0, le=120, description="seconds to wait for the job to finish")
    ] = 0,
) -> JobOut:
    """The job's state; with `wait`, answers as soon as it finishes (long poll)."""
    store = _store(services)
    job = store.get(job_id, caller.name)
    limit = min(wait, services.settings.jobs.max_poll_seconds)
    if limit > 0:
        job = await store.wait(job, limit)
    return job_out(job, store, getattr(request.state, "request_id", None))


@router.delete("/{job_id}", status_code=204)
async def cancel_job(job_id: JobId, services: ServicesDep, caller: CallerDep) -> Response:
    """Cancel a pending job (the reader is free again when this answers); drop a finished one."""
    await _store(services).cancel(job_id, caller.name)
    return Response(status_code=204)
