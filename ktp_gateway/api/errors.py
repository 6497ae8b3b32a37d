"""Exception handlers: gateway and validation errors become problem+json with a stable code."""

from __future__ import annotations

import math
from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ktp_gateway.api.accountability import ACCOUNTABILITY_FIELDS
from ktp_gateway.api.problems import PROBLEM_TYPE_BASE, problem_for
from ktp_gateway.errors import ErrorCode, GatewayError

log = structlog.get_logger("ktp_gateway.api")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ktp-gateway"'}  # RFC 9110 15.5.2: with every 401


def problem_response(
    request: Request,
    code: ErrorCode,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """An RFC 9457 problem with the code, its hint and the request id."""
    problem = problem_for(code)
    body = {
        "type": PROBLEM_TYPE_BASE + code.value,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "code": code.value,
        "hint": problem.hint,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    return JSONResponse(
        body,
        status_code=problem.status,
        media_type="application/problem+json",
        headers={**NO_STORE, **(headers or {})},
    )


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)  # noqa: S101 - registered for GatewayError only
    request.state.error_code = exc.code.value
    return problem_response(request, exc.code, exc.detail, headers=http_headers(exc))


def http_headers(exc: GatewayError) -> dict[str, str]:
    """The headers an error's facts call for: the one place HTTP is made of them."""
    headers = dict(CHALLENGE) if exc.code is ErrorCode.UNAUTHORIZED else {}
    if exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    return headers


_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method) as problems with a stable code too."""
    assert isinstance(exc, HTTPException)  # noqa: S101
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.INVALID_REQUEST)
    request.state.error_code = code.value
    return problem_response(request, code, problem_for(code).title.lower(), headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    # Location and kind of each problem only: pydantic's `input` would echo what was sent (a NIK).
    errors = [
        {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
        for e in exc.errors()
    ]
    # Only a missing or malformed officer, purpose or case number has its own code.
    accountability = all(set(e["loc"]) & ACCOUNTABILITY_FIELDS for e in errors)
    code = ErrorCode.ACCOUNTABILITY_REQUIRED if accountability else ErrorCode.INVALID_REQUEST
    request.state.error_code = code.value
    return problem_response(request, code, "the request body is not valid", errors=errors)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug's 500 problem; the log keeps the exception's type only."""
    request.state.error_code = ErrorCode.INTERNAL_ERROR.value
    log.error("unexpected error", error_type=type(exc).__name__)
    return problem_response(
        request, ErrorCode.INTERNAL_ERROR, "unexpected error; see the gateway log"
    )


def register(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected)
