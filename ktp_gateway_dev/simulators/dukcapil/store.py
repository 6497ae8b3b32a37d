"""The simulated return-data (data balikan) store: Bearer token, one JSON shape, duplicates refused.

Shape (notes, seen once): `POST` with `Authorization: Bearer <token>` and
`[{"id_lembaga", "nama_lembaga", "data": [{"NIK", "param": [{...}]}]}]`; answers 200
`{"message": "Success"}`, 400 `{"message": "Data sudah pernah dikirim"}` for data already held,
401 for a wrong token, 422 for a body of the wrong shape. An item is recorded BEFORE the configured
latency, so a caller killed while waiting leaves Dukcapil holding data it never heard accepted:
the case the gateway's outbox must survive without sending it twice.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ktp_gateway_dev.simulators.dukcapil.config import FaultMode, FaultTarget
from ktp_gateway_dev.simulators.dukcapil.faults import fault_response
from ktp_gateway_dev.simulators.dukcapil.state import SimulatorState

SUCCESS = "Success"
ALREADY_SENT = "Data sudah pernah dikirim"
UNAUTHENTICATED = "Unauthenticated."
BAD_SHAPE = "Format data tidak valid"

Item = tuple[str, dict[str, str], str]


def _message(text: str, status: int) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status)


def _authorised(request: Request, state: SimulatorState) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = state.config.return_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


def _params(entries: object) -> dict[str, str] | None:
    if not isinstance(entries, list) or not entries:
        return None
    merged: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
            return None
        merged.update(entry)
    return merged or None


def parse_items(body: object) -> list[Item] | None:
    """(NIK, param, id_lembaga) of every item in the body, or None if its shape is wrong."""
    if not isinstance(body, list) or not body:
        return None
    items: list[Item] = []
    for agency in body:
        if not isinstance(agency, dict) or not isinstance(agency.get("id_lembaga"), str):
            return None
        data = agency.get("data")
        if not isinstance(agency.get("nama_lembaga"), str) or not isinstance(data, list):
            return None
        for entry in data:
            nik = entry.get("NIK") if isinstance(entry, dict) else None
            param = _params(entry.get("param")) if isinstance(entry, dict) else None
            if not isinstance(nik, str) or len(nik) != 16 or not nik.isdigit() or param is None:
                return None
            items.append((nik, param, agency["id_lembaga"]))
    return items or None


async def _fault(state: SimulatorState) -> Response | None:
    fault = state.take_fault(FaultTarget.RETURN_DATA)
    if fault is None:
        return None
    if fault.mode is FaultMode.TIMEOUT:
        await asyncio.sleep(fault.hang_seconds)
        return Response(status_code=504)
    return fault_response(fault)


async def store(request: Request, state: SimulatorState) -> tuple[str, Response]:
    """Record the items of one delivery and answer as Dukcapil's store does."""
    broken = await _fault(state)
    if broken is not None:
        return "fault", broken
    if not _authorised(request, state):
        return "unauthenticated", _message(UNAUTHENTICATED, 401)
    try:
        body: Any = json.loads(await request.body())
    except ValueError:
        body = None
    items = parse_items(body)
    if items is None:
        return "bad_shape", _message(BAD_SHAPE, 422)
    key = request.headers.get("idempotency-key")
    fresh = [state.ledger.record(nik, param, agency, key) for nik, param, agency in items]
    if state.return_latency_ms:
        await asyncio.sleep(state.return_latency_ms / 1000)
    if all(fresh):
        return "accepted", _message(SUCCESS, 200)
    return "duplicate", _message(ALREADY_SENT, 400)
