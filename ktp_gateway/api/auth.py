"""Caller authentication as a dependency of every `/v1` route (and of `/metrics`).

A missing and a wrong credential get the same 401 body: nothing tells a caller which keys,
clients or certificates exist. The authenticated client's name goes to the request's log line.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.datastructures import Headers

from ktp_gateway.api.deps import Services, services_of
from ktp_gateway.callers.clients import ANONYMOUS, Caller
from ktp_gateway.callers.tls import cert_name_from_scope
from ktp_gateway.errors import ErrorCode, GatewayError

# How a caller presents its key, for the OpenAPI contract only (`contract.py` lists them on every
# authenticated operation, with mutual TLS): `authenticate` reads the two headers itself, as one
# dependency, instead of solving these two as sub-dependencies on every request.
API_KEY_SCHEMES: dict[str, SecurityBase] = {
    "apiKeyBearer": HTTPBearer(
        auto_error=False, scheme_name="apiKeyBearer", description="`Authorization: Bearer kgw_...`"
    ),
    "apiKeyHeader": APIKeyHeader(
        name="X-API-Key", auto_error=False, scheme_name="apiKeyHeader", description="the same key"
    ),
}


def security_schemes() -> dict[str, Any]:
    """The key schemes as OpenAPI `securitySchemes` entries."""
    return {
        name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name, scheme in API_KEY_SCHEMES.items()
    }


class Unauthorized(GatewayError):
    """No credential, or one the gateway does not accept (deliberately not saying which)."""

    code = ErrorCode.UNAUTHORIZED


def presented_key(headers: Headers) -> str | None:
    """The API key from `Authorization: Bearer <key>` (scheme in any case), else `X-API-Key`;
    an Authorization header of another scheme or without a value counts as absent."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return headers.get("x-api-key") or None


async def authenticate(request: Request) -> Caller:
    """The calling client application, then its rate limit; 401 or 429 otherwise."""
    services = services_of(request)
    access = services.access
    caller: Caller | None = ANONYMOUS
    if access is not None and access.enabled:
        common_name = cert_name_from_scope(request.scope)
        caller = access.by_certificate(common_name) if common_name else None
        if caller is None:
            source = request.client.host if request.client else "-"
            caller = await access.by_key(presented_key(request.headers), source)
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
