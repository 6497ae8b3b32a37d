"""Request body size limit: a body over the configured size is refused with 413 before parsing.

Bodies here are a few hundred bytes of JSON, so the whole body is read (up to the limit) and
replayed to the app; a declared or streamed size over the limit never reaches a route.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ktp_gateway.api.errors import problem_response
from ktp_gateway.errors import ErrorCode

DEFAULT_MAX_BYTES = 16 * 1024


def _limit(scope: Scope) -> int:
    services: Any = getattr(scope["app"].state, "services", None)
    if services is None:
        return DEFAULT_MAX_BYTES
    return int(services.settings.api.max_body_bytes)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """Pure ASGI middleware (no per-request thread or task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = _limit(scope)
        declared = _declared_length(scope)
        body = b"" if declared is None or declared <= limit else None
        more = body is not None
        while more and body is not None:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                body = None
        if body is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        request.state.error_code = ErrorCode.REQUEST_TOO_LARGE.value
        response = problem_response(
            request, ErrorCode.REQUEST_TOO_LARGE, "the request body is over the size limit"
        )
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _replay(body: bytes, then: Receive) -> Receive:
    """The buffered body once, then the server's own messages (a disconnect, when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
