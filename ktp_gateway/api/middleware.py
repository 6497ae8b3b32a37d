"""Per-request plumbing: request id, no-store headers, one canonical log line, HTTP metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response

log = structlog.get_logger("ktp_gateway.api")

HttpObserver = Callable[[str, str, int, float], None]  # method, route template, status, seconds


def _route_template(request: Request) -> str:
    """The matched route's path template (never the raw path, which could carry an id)."""
    return str(getattr(request.scope.get("route"), "path", "unmatched"))


def install(app: FastAPI, observe: HttpObserver | None = None) -> None:
    """Every response is marked so nothing downstream caches it; every request is logged once."""

    @app.middleware("http")
    async def _plumbing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
            seconds = time.perf_counter() - started
            route = _route_template(request)
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            response.headers["X-Request-Id"] = request_id
            if "etag" in response.headers:
                del response.headers["etag"]
            log.info(
                "request",
                method=request.method,
                path=route,
                status=response.status_code,
                duration_ms=round(seconds * 1000, 2),
                code=getattr(request.state, "error_code", None),
                # the authenticated client application (its configured name and key id)
                client=getattr(getattr(request.state, "caller", None), "name", None),
                key_id=getattr(getattr(request.state, "caller", None), "key_id", None),
            )
            if observe is not None:
                observe(request.method, route, response.status_code, seconds)
        return response
