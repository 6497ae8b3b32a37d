"""Liveness for supervisors and load balancers."""

from __future__ import annotations

from fastapi import APIRouter

from ktp_gateway import __version__
from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import Health
from ktp_gateway.errors import ReaderError
from ktp_gateway.reader.monitor import MonitorState

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(services: ServicesDep) -> Health:
    """Up, with how many KTP-el readers are attached (degraded when PC/SC cannot be asked)."""
    monitor = services.monitor.health() if services.monitor is not None else None
    health = Health(
        status="ok",
        version=__version__,
        monitor=monitor.state.value if monitor else None,
        pcsc_context_resets=monitor.context_resets if monitor else None,
    )
    if services.readers is None:  # a registry-only gateway: nothing to tap on, nothing wrong
        return health.model_copy(update={"readers": 0})
    try:
        readers = await services.readers.list_readers()
    except ReaderError as exc:
        return health.model_copy(update={"status": "degraded", "reader_error": exc.code.value})
    degraded = monitor is not None and monitor.state is not MonitorState.RUNNING
    return health.model_copy(
        update={"status": "degraded" if degraded else "ok", "readers": len(readers)}
    )
