"""How a verification job looks to its caller."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ktp_gateway.api.jobs import Job, JobStatus, JobStore
from ktp_gateway.api.models import VerificationResponse
from ktp_gateway.api.problem_model import ProblemOut, problem_out

JOBS_PATH = "/v1/verifications"


class JobOut(BaseModel):
    id: str = Field(examples=["0c5e7d3a4b2f4e6a9d1c8b7a6f5e4d3c"])
    status: JobStatus
    location: str = Field(examples=["/v1/verifications/0c5e7d3a4b2f4e6a9d1c8b7a6f5e4d3c"])
    expires_in_seconds: float | None = Field(
        default=None, description="seconds until the result is gone; null while pending"
    )
    result: VerificationResponse | None = None
    problem: ProblemOut | None = None


def job_out(job: Job, store: JobStore, request_id: str | None = None) -> JobOut:
    result = job.result if isinstance(job.result, VerificationResponse) else None
    problem = None
    if job.error is not None:
        problem = problem_out(job.error.code, job.error.detail, request_id)
    return JobOut(
        id=job.id,
        status=job.status,
        location=f"{JOBS_PATH}/{job.id}",
        expires_in_seconds=store.expires_in(job),
        result=result,
        problem=problem,
    )
