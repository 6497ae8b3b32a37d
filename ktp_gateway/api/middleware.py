"""Per-request plumbing: request id, no-store headers, one canonical log line, HTTP metrics.

Pure ASGI (not Starlette's BaseHTTPMiddleware, which runs each request's app in a task of its
own and copies the response through a stream): at REST load that wrapper was about 6 % of the
gateway's CPU per request (bench/, BENCHMARKS.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ktp_gateway.api.errors import unexpected

log = structlog.get_logger("ktp_gateway.api")

# The caller closed the connection before the answer (nginx's 499): never counted as a 5xx.
CLIENT_CLOSED_REQUEST = 499
CLIENT_DISCONNECTED = "client_disconnected"
HttpObserver = Callable[[str, str, int, float], None]  # method, route template, status, seconds

# Set on every response, replacing whatever a route set: nothing downstream may cache it.
_NO_STORE = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))
_DROPPED = frozenset({b"cache-control", b"pragma", b"etag", b"x-request-id"})


def _route_template(scope: Scope) -> str:
    """The matched route's path template (never the raw path, which could carry an id)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class Plumbing:
    """Every response is marked so nothing downstream caches it; every request is logged once."""

    def __init__(self, app: ASGIApp, observe: HttpObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id  # request.state.request_id, for problems
        status = 500
        responded = False
        started = time.perf_counter()

        async def marked(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _DROPPED
                ]
                headers += [*_NO_STORE, (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, marked)
            except ClientDisconnect:
                pass  # the caller hung up mid-body: nobody to answer (recorded below)
            except Exception as exc:
                if responded:
                    raise
                # Answered here, not by Starlette's outermost handler: the 500 then carries the
                # request id header, and it is logged (with that id) and counted like any other.
                response = await unexpected(Request(scope, receive), exc)
                await response(scope, receive, marked)
            finally:
                if not responded:  # the caller went away before an answer: its act, not ours
                    status = CLIENT_CLOSED_REQUEST
                    state.setdefault("error_code", CLIENT_DISCONNECTED)
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        """The request's canonical log line and its HTTP metrics (a failed one's too)."""
        route = _route_template(scope)
        state = scope["state"]
        caller = state.get("caller")
        log.info(
            "request",
            method=scope["method"],
            path=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            code=state.get("error_code"),
            # the authenticated client application (its configured name and key id)
            client=getattr(caller, "name", None),
            key_id=getattr(caller, "key_id", None),
        )
        if self.observe is not None:
            self.observe(scope["method"], route, status, seconds)
