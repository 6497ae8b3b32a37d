"""The registry path: NIK lookups, malformed input, Dukcapil failing while the gateway serves on."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.domain import GrantedField
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings


def test_lookup_releases_only_granted_fields(client: TestClient, sim: Simulator) -> None:
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3171011505809901"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["nama_lengkap"] == "BUDI CONTOH"
    assert set(body["data"]) == {field.value for field in GrantedField}
    assert "ISLAM" not in response.text and response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("nik", ["123", "31710115058099O1", "9971011505809901", "3171019905809901"])
def test_malformed_nik_is_refused_before_it_leaves(
    client: TestClient, sim: Simulator, nik: str
) -> None:
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": nik})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_nik"
    assert nik not in response.text
    assert sim.requests() == 0


def test_invalid_body_never_echoes_its_input(client: TestClient) -> None:
    response = client.post(
        "/v1/nik-lookups", json={**ACCOUNTABLE, "nik": 3171011505809901, "nama": "BUDI CONTOH"}
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert "3171011505809901" not in response.text and "BUDI" not in response.text


def test_not_in_registry_is_404(client: TestClient) -> None:
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3273011111889907"})
    assert response.status_code == 404 and response.json()["code"] == "dukcapil_not_found"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [({"mode": "html", "status": 200}, 502, "dukcapil_bad_response"),
     ({"mode": "html"}, 503, "dukcapil_unavailable"),  # a proxy's 502 page: Dukcapil is not reached
     ({"mode": "broken_json"}, 502, "dukcapil_bad_response"),
     ({"mode": "empty"}, 502, "dukcapil_bad_response"),
     ({"mode": "http_500"}, 503, "dukcapil_unavailable")],
)  # fmt: skip
def test_dukcapil_faults_are_typed_and_the_next_call_works(
    client: TestClient, sim: Simulator, fault: dict[str, object], status: int, code: str
) -> None:
    sim.admin("faults", {**fault, "count": 1})
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3171011505809901"})
    assert response.status_code == status and response.json()["code"] == code
    assert (
        client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3171011505809901"}).status_code
        == 200
    )


@pytest.mark.pcsc
def test_dukcapil_down_is_a_503_and_the_gateway_keeps_serving(
    pcscd_service: PcscdService, reader_pair: VirtualReaderPair
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with TestClient(create_app(make_settings(nobody, retries=0))) as client:
        response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3171011505809901"})
        assert response.status_code == 503 and response.json()["code"] == "dukcapil_unavailable"
        reader_pair.place("budi")
        response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 5})
        assert response.status_code == 503 and response.json()["code"] == "dukcapil_unavailable"
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/v1/readers").status_code == 200
