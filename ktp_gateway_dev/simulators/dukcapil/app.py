"""The simulator's ASGI app: Dukcapil's query routes, the return-data store, `/_simulator` admin.

The CALL_NIK route reads the raw body itself: a declared body model would make FastAPI echo a
malformed request (NIK, password) back in its 422 answer. Nothing here logs a body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from ktp_gateway_dev.simulators.dukcapil.config import (
    Fault,
    FaultMode,
    RuntimeConfig,
    SimulatorConfig,
)
from ktp_gateway_dev.simulators.dukcapil.faults import JSON, fault_response
from ktp_gateway_dev.simulators.dukcapil.lookup import Query, answer, other_person
from ktp_gateway_dev.simulators.dukcapil.responses import QUOTA_USED_UP, REFUSALS, envelope
from ktp_gateway_dev.simulators.dukcapil.state import SimulatorState
from ktp_gateway_dev.simulators.dukcapil.store import store
from ktp_gateway_dev.simulators.population import DEFAULT_PEOPLE_FILE, Population, load_population

ADMIN_PREFIX = "/_simulator"
RETURN_PATH = "/dukcapil/data-balikan/store"
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
    """Arm a fault for the next `count` requests of its target (mode "none" disarms)."""
    _state(request).arm(fault)
    return fault.model_dump(mode="json")


@admin.get("/returns")
async def returns(request: Request) -> dict[str, Any]:
    """Every return-data item received, with how often each arrived (synthetic data only)."""
    return _state(request).ledger.as_json()


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


def _broken(
    fault: Fault, state: SimulatorState, population: Population, raw: bytes
) -> tuple[str, Response]:
    outcome = f"fault_{fault.mode.value}"
    if fault.mode is FaultMode.REFUSAL:
        refusal = REFUSALS[fault.code or "06"]
        body = envelope([refusal.record(state.style)], state.quota_remaining)
        return outcome, Response(json.dumps(body), media_type=JSON)
    if fault.mode is FaultMode.OTHER_PERSON:
        _, body = other_person(state, population, raw)
        return outcome, Response(json.dumps(body), media_type=JSON)
    return outcome, fault_response(fault)


async def _query(
    state: SimulatorState, population: Population, request: Request, token: int, query: Query
) -> tuple[str, Response]:
    if state.latency_ms:
        await asyncio.sleep(state.latency_ms / 1000)
    fault = state.take_fault(query=query.value)
    if fault is not None and fault.mode is not FaultMode.TIMEOUT:
        return _broken(fault, state, population, await request.body())
    if fault is not None:
        await asyncio.sleep(fault.hang_seconds)  # then answer normally, long after the caller
        if not state.current(token):  # a reset came meanwhile: spend no quota of the next test
            return "stale", Response(status_code=503)
    if request.path_params["consumer_path"].strip("/") != state.config.consumer_path.strip("/"):
        return "wrong_path", Response(NOT_FOUND_PAGE, status_code=404, media_type="text/html")
    peer = request.client.host if request.client else None
    outcome, body = answer(await request.body(), state, population, query=query, peer=peer)
    if fault is not None:
        outcome = f"fault_{fault.mode.value}"
    headers = {}
    if outcome == QUOTA_USED_UP.outcome and state.quota_retry_after_seconds is not None:
        headers["Retry-After"] = str(state.quota_retry_after_seconds)
    return outcome, Response(json.dumps(body), media_type=JSON, headers=headers)


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """A simulated Dukcapil over the synthetic population (`config` defaults: legacy style)."""
    config = config or SimulatorConfig()
    population = load_population(config.people_file or DEFAULT_PEOPLE_FILE)
    state = SimulatorState(config)
    app = FastAPI(title="Dukcapil simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = state
    app.include_router(admin)

    async def serve(request: Request, query: Query) -> Response:
        token = state.enter()
        state.queries[query.value] += 1
        outcome = "error"
        try:
            outcome, response = await _query(state, population, request, token, query)
            return response
        finally:
            state.leave(token, outcome)

    @app.post("/dukcapil/get_json/{consumer_path:path}/CALL_NIK")
    async def call_nik(request: Request) -> Response:
        """Dukcapil's NIK query: refusals too come back as HTTP 200 with a RESPON record."""
        return await serve(request, Query.NIK)

    @app.post("/dukcapil/get_json/{consumer_path:path}/CALL_FOTO")
    async def call_foto(request: Request) -> Response:
        """The face photo of a NIK, base64 in FOTO (no public call seen: this shape is ours)."""
        return await serve(request, Query.PHOTO)

    @app.post("/dukcapil/get_json/{consumer_path:path}/CALL_NIK_GET_KK")
    async def call_nik_get_kk(request: Request) -> Response:
        """Every released member of the NIK's Kartu Keluarga, full records (seen once)."""
        return await serve(request, Query.FAMILY)

    @app.post(RETURN_PATH)
    async def data_balikan(request: Request) -> Response:
        """The return-data store: records what arrives (see store.py)."""
        state.ledger.in_flight += 1
        outcome = "error"
        try:
            outcome, response = await store(request, state)
            return response
        finally:
            state.ledger.in_flight -= 1
            state.ledger.outcomes[outcome] += 1

    return app
