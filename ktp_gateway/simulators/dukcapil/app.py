"""The simulator's ASGI app: Dukcapil's CALL_NIK route and a separate `/_simulator` admin prefix.

The CALL_NIK route reads the raw body itself: a declared body model would make FastAPI echo a
malformed request (NIK, password) back in its 422 answer. Nothing here logs a body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from ktp_gateway.simulators.dukcapil.config import (
    Fault,
    FaultMode,
    RuntimeConfig,
    SimulatorConfig,
)
from ktp_gateway.simulators.dukcapil.faults import JSON, fault_response
from ktp_gateway.simulators.dukcapil.lookup import answer
from ktp_gateway.simulators.dukcapil.state import SimulatorState
from ktp_gateway.simulators.population import DEFAULT_PEOPLE_FILE, Population, load_population

ADMIN_PREFIX = "/_simulator"
NOT_FOUND_PAGE = "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>"

admin = APIRouter(prefix=ADMIN_PREFIX, tags=["simulator admin"])


def _state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


@admin.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Request counts by outcome (no personal data)."""
    return _state(request).stats()


@admin.post("/faults")
async def set_fault(fault: Fault, request: Request) -> dict[str, Any]:
    """Arm a fault for the next `count` CALL_NIK requests (mode "none" disarms)."""
    _state(request).fault = fault
    return fault.model_dump(mode="json")


@admin.post("/config")
async def configure(change: RuntimeConfig, request: Request) -> dict[str, Any]:
    """Change style, latency or remaining quota while running."""
    state = _state(request)
    state.configure(change)
    return state.stats()


@admin.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """Back to the start-up configuration, counters at zero."""
    state = _state(request)
    state.reset()
    return state.stats()


async def _call_nik(
    state: SimulatorState, population: Population, request: Request, token: int
) -> tuple[str, Response]:
    if state.latency_ms:
        await asyncio.sleep(state.latency_ms / 1000)
    fault = state.take_fault()
    if fault is not None and fault.mode is not FaultMode.TIMEOUT:
        return f"fault_{fault.mode.value}", fault_response(fault)
    if fault is not None:
        await asyncio.sleep(fault.hang_seconds)  # then answer normally, long after the caller
        if not state.current(token):  # a reset came meanwhile: spend no quota of the next test
            return "stale", Response(status_code=503)
    if request.path_params["consumer_path"].strip("/") != state.config.consumer_path.strip("/"):
        return "wrong_path", Response(NOT_FOUND_PAGE, status_code=404, media_type="text/html")
    outcome, body = answer(await request.body(), state, population)
    if fault is not None:
        outcome = f"fault_{fault.mode.value}"
    return outcome, Response(json.dumps(body), media_type=JSON)


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """A simulated Dukcapil over the synthetic population (`config` defaults: legacy style)."""
    config = config or SimulatorConfig()
    population = load_population(config.people_file or DEFAULT_PEOPLE_FILE)
    state = SimulatorState(config)
    app = FastAPI(title="Dukcapil simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = state
    app.include_router(admin)

    @app.post("/dukcapil/get_json/{consumer_path:path}/CALL_NIK")
    async def call_nik(request: Request) -> Response:
        """Dukcapil's NIK query: refusals too come back as HTTP 200 with a RESPON record."""
        token = state.enter()
        outcome = "error"
        try:
            outcome, response = await _call_nik(state, population, request, token)
            return response
        finally:
            state.leave(token, outcome)

    return app
