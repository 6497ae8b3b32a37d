"""The problem+json body as a model, so the OpenAPI contract documents every error's shape."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ktp_gateway.api.problems import PROBLEM_TYPE_BASE, problem_for
from ktp_gateway.errors import ErrorCode


class FieldProblem(BaseModel):
    loc: list[str | int]
    type: str | None = None
    msg: str | None = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details with the gateway's stable `code` and a `hint` (cause and fix)."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "no_card"])
    title: str = Field(examples=["No card on the reader"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["no card was placed on the reader in time"])
    code: ErrorCode
    hint: str
    request_id: str | None = Field(examples=["6f1c0d0a9b2e4c2f8e1d7a5b3c9e0f12"])
    errors: list[FieldProblem] | None = Field(
        default=None, description="invalid_request only: where and what, never the value sent"
    )


def problem_out(code: ErrorCode, detail: str, request_id: str | None) -> ProblemOut:
    problem = problem_for(code)
    return ProblemOut(
        type=PROBLEM_TYPE_BASE + code.value,
        title=problem.title,
        status=problem.status,
        detail=detail,
        code=code,
        hint=problem.hint,
        request_id=request_id,
    )
