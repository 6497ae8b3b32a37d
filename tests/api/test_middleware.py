"""The per-request plumbing on a response no handler produced: a bug's 500 (real simulator)."""

from __future__ import annotations

import pytest
import structlog
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from ktp_gateway.api.app import create_app
from ktp_gateway_dev.stack.pcscd import PcscdService
from tests.api.conftest import Simulator, accountable, make_settings


async def _bug(nik: str) -> None:
    raise RuntimeError("a bug deep in a query")


def test_an_unexpected_error_is_marked_logged_and_counted_with_its_request_id(
    sim: Simulator, pcscd_service: PcscdService, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_settings(sim.base_url))
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        monkeypatch.setattr(app.state.services.registry, "query_nik", _bug)
        response = client.post("/v1/nik-lookups", json=accountable(nik="3171011505809901"))
        metrics = app.state.services.metrics.collectors
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    request_id = response.json()["request_id"]
    assert response.headers["x-request-id"] == request_id
    assert response.headers["cache-control"] == "no-store"
    [line] = [entry for entry in logs if entry["event"] == "request"]
    assert line["status"] == 500 and line["code"] == "internal_error"
    assert line["path"] == "/v1/nik-lookups"
    [error] = [entry for entry in logs if entry["event"] == "unexpected error"]
    assert error["request_id"] == request_id  # the hint: "the request id finds it in the log"
    labels = {"method": "POST", "route": "/v1/nik-lookups", "status": "500"}
    assert metrics.get_sample_value("ktp_gateway_http_requests_total", labels) == 1
