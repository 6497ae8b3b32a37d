"""Caller authentication as a dependency of every `/v1` route (and of `/metrics`).

A missing and a wrong credential get the same 401 body: nothing tells a caller which keys,
clients or certificates exist. The authenticated client's name goes to the request's log line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ktp_gateway.api.deps import Services, ServicesDep
from ktp_gateway.callers.clients import ANONYMOUS, Caller
from ktp_gateway.callers.tls import cert_name_from_scope
from ktp_gateway.errors import ErrorCode, GatewayError

_bearer = HTTPBearer(
    auto_error=False, scheme_name="apiKeyBearer", description="`Authorization: Bearer kgw_...`"
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKeyHeader", description="the same key"
)


class Unauthorized(GatewayError):
    """No credential, or one the gateway does not accept (deliberately not saying which)."""

    code = ErrorCode.UNAUTHORIZED


async def authenticate(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    """The calling client application, then its rate limit; 401 or 429 otherwise."""
    access = services.access
    caller: Caller | None = ANONYMOUS
    if access is not None and access.enabled:
        common_name = cert_name_from_scope(request.scope)
        caller = access.by_certificate(common_name) if common_name else None
        if caller is None:
            source = request.client.host if request.client else "-"
            caller = await access.by_key(bearer.credentials if bearer else api_key, source)
    if caller is None:
        raise Unauthorized("authentication required")
    request.state.caller = caller
    if access is not None:
        await access.limits.check_client(caller.name)
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]


async def limit_officer(services: Services, officer_id: str) -> None:
    """The per-officer rate limit, once the request has named its officer (429 when over)."""
    if services.access is not None:
        await services.access.limits.check_officer(officer_id)
