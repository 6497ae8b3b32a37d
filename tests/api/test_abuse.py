"""Abuse limits through HTTP: rate limits with Retry-After, body size, strict input models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.config import ApiSettings, AuthSettings, LimitSettings
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings

BUDI = "3171011505809901"


@pytest.fixture
def limited(sim: Simulator, tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    (first, first_entry), (second, second_entry) = make_key(), make_key()
    clients = write_clients(
        tmp_path / "clients.yaml",
        [{"name": "first", "keys": [first_entry]}, {"name": "second", "keys": [second_entry]}],
    )
    settings = make_settings(sim.base_url).model_copy(
        update={
            "auth": AuthSettings(clients_file=clients),
            "limits": LimitSettings(client_per_minute=6, client_burst=3),
            "api": ApiSettings(max_body_bytes=4096),
        }
    )
    with TestClient(create_app(settings)) as client:
        yield client, first, second


def test_a_client_over_its_rate_gets_429_with_retry_after(
    limited: tuple[TestClient, str, str],
) -> None:
    client, first, second = limited
    statuses = [client.get("/v1/caller", headers=bearer(first)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/v1/caller", headers=bearer(first))
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 10  # one token every 10 s
    assert client.get("/v1/caller", headers=bearer(second)).status_code == 200  # per client


def test_a_body_over_the_limit_is_refused_before_parsing(
    limited: tuple[TestClient, str, str], sim: Simulator
) -> None:
    client, first, _ = limited
    big = {"nik": BUDI, "required_fields": ["nama_lengkap"] * 600}
    response = client.post("/v1/nik-lookups", json=big, headers=bearer(first))
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large" and response.json()["request_id"]
    chunks = (b"x" * 1024 for _ in range(8))  # no Content-Length: counted as it streams
    streamed = client.post(
        "/v1/nik-lookups",
        content=chunks,
        headers={**bearer(first), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert sim.requests() == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/nik-lookups", {"nik": BUDI, "nama": "BUDI CONTOH"}),
        ("/v1/verifications", {"wait_seconds": 1, "officer": "x"}),
        ("/v1/claims-verifications", {"nik": BUDI, "claims": {"nama_lengkap": "X", "agama": "Y"}}),
    ],
)
def test_unknown_fields_are_refused(
    limited: tuple[TestClient, str, str], path: str, body: dict[str, object]
) -> None:
    client, first, _ = limited
    response = client.post(path, json={**ACCOUNTABLE, **body}, headers=bearer(first))
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert "BUDI" not in response.text


def test_unknown_paths_and_methods_are_problems_too(
    limited: tuple[TestClient, str, str],
) -> None:
    client, first, _ = limited
    missing = client.get("/v1/nothing-here", headers=bearer(first))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.put("/v1/nik-lookups", json={}, headers=bearer(first))
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


def test_an_officer_over_the_rate_gets_429_whichever_client_asks(
    sim: Simulator, tmp_path: Path
) -> None:
    (first, first_entry), (second, second_entry) = make_key(), make_key()
    clients = write_clients(
        tmp_path / "clients.yaml",
        [{"name": "first", "keys": [first_entry]}, {"name": "second", "keys": [second_entry]}],
    )
    settings = make_settings(sim.base_url).model_copy(
        update={
            "auth": AuthSettings(clients_file=clients),
            "limits": LimitSettings(officer_per_minute=2, officer_burst=2),
        }
    )
    lookup = {**ACCOUNTABLE, "nik": BUDI}
    with TestClient(create_app(settings)) as client:
        for key in (first, second):
            assert (
                client.post("/v1/nik-lookups", json=lookup, headers=bearer(key)).status_code == 200
            )
        refused = client.post("/v1/nik-lookups", json=lookup, headers=bearer(first))
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 30
        other = {**lookup, "officer_id": "PETUGAS-UJICOBA-02"}
        assert client.post("/v1/nik-lookups", json=other, headers=bearer(first)).status_code == 200
    assert sim.requests() == 3  # the refused request never reached Dukcapil
