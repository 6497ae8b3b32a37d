"""Liveness for supervisors and load balancers."""

from __future__ import annotations

from fastapi import APIRouter

from ktp_gateway import __version__
from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import Health
from ktp_gateway.errors import ReaderError

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(services: ServicesDep) -> Health:
    """Up, with how many KTP-el readers are attached (degraded when PC/SC cannot be asked)."""
    try:
        readers = await services.readers.list_readers()
    except ReaderError as exc:
        return Health(status="degraded", version=__version__, reader_error=exc.code.value)
    return Health(status="ok", version=__version__, readers=len(readers))
