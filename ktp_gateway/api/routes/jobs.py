"""Verification jobs: long-poll a background tap for its result, or cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.api.deps import JobsDep, SettingsDep
from ktp_gateway.api.jobs_out import JOBS_PATH, JobOut, job_out

router = APIRouter(prefix=JOBS_PATH, tags=["verifications"])

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the job id from the 202")]


@router.get("/{job_id}", response_model=JobOut)
async def get_job(
    job_id: JobId,
    request: Request,
    store: JobsDep,
    settings: SettingsDep,
    caller: CallerDep,
    wait: Annotated[
        float, Query(ge=0, le=120, description="seconds to wait for the job to finish")
    ] = 0,
) -> JobOut:
    """The job's state; with `wait`, answers as soon as it finishes (long poll)."""
    job = store.get(job_id, caller.name)
    limit = min(wait, settings.jobs.max_poll_seconds)
    if limit > 0:
        job = await store.wait(job, limit)
    return job_out(job, store, getattr(request.state, "request_id", None))


@router.delete("/{job_id}", status_code=204)
async def cancel_job(job_id: JobId, store: JobsDep, caller: CallerDep) -> Response:
    """Cancel a pending job (the reader is free again when this answers); drop a finished one."""
    await store.cancel(job_id, caller.name)
    return Response(status_code=204)
