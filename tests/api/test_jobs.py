"""Taps as jobs through the HTTP interface: 202 + Location, long-poll, cancel, expiry, ownership."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.config import AuthSettings, JobSettings, ReaderSettings
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings

pytestmark = pytest.mark.pcsc

TTL = 1.0


@pytest.fixture
def keys() -> dict[str, str]:
    return {"case": make_key(), "other": make_key()}  # type: ignore[dict-item]


@pytest.fixture
def jobs_client(
    sim: Simulator, pcscd_service: PcscdService, tmp_path: Path, keys: dict[str, object]
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    clients = write_clients(
        tmp_path / "clients.yaml",
        [
            {"name": "case-app", "keys": [keys["case"][1]]},  # type: ignore[index]
            {"name": "other-app", "keys": [keys["other"][1]]},  # type: ignore[index]
        ],
    )
    settings = make_settings(sim.base_url).model_copy(
        update={
            "auth": AuthSettings(clients_file=clients),
            "jobs": JobSettings(result_ttl_seconds=TTL, max_poll_seconds=10),
            "reader": ReaderSettings(max_wait_seconds=30),
        }
    )
    case = bearer(keys["case"][0])  # type: ignore[index]
    with TestClient(create_app(settings), headers=case) as client:
        yield client, bearer(keys["other"][0])  # type: ignore[index]


def _start(client: TestClient, **body: object) -> str:
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 20, **body})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["location"] == f"/v1/verifications/{job['id']}"
    assert job["status"] == "pending" and job["result"] is None
    return str(job["location"])


def test_an_async_verification_waits_for_the_card_and_is_long_polled(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, _ = jobs_client
    location = _start(client, mode="async")
    assert client.get(location).json()["status"] == "pending"  # no wait: answers at once
    threading.Timer(0.5, reader_pair.place, args=("budi",)).start()
    started = time.monotonic()
    job = client.get(location, params={"wait": 10}).json()
    assert time.monotonic() - started < 8  # answered when the job finished, not at the deadline
    assert job["status"] == "done" and job["problem"] is None
    assert job["result"]["outcome"] == "verified"
    assert 0 < job["expires_in_seconds"] <= TTL


def test_prefer_respond_async_makes_a_job_too(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, _ = jobs_client
    reader_pair.place("budi")
    response = client.post(
        "/v1/verifications",
        json={**ACCOUNTABLE, "wait_seconds": 5},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 202
    assert response.headers["preference-applied"] == "respond-async"
    job = client.get(response.headers["location"], params={"wait": 10}).json()
    assert job["status"] == "done"


def test_cancelling_stops_the_wait_and_frees_the_reader(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, _ = jobs_client
    location = _start(client, mode="async")
    time.sleep(0.3)  # the job is now inside the PC/SC wait
    started = time.monotonic()
    assert client.delete(location).status_code == 204
    assert time.monotonic() - started < 1.0  # within one 250 ms slice, plus the request
    job = client.get(location).json()
    assert job["status"] == "cancelled"
    assert job["problem"]["code"] == "verification_cancelled" and job["result"] is None
    reader_pair.place("budi")
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 5})
    assert response.status_code == 200  # not reader_busy: the cancelled wait let go


def test_results_expire_and_are_gone(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, _ = jobs_client
    reader_pair.place("budi")
    location = _start(client, mode="async")
    assert client.get(location, params={"wait": 10}).json()["status"] == "done"
    time.sleep(TTL + 0.3)
    response = client.get(location)
    assert response.status_code == 404 and response.json()["code"] == "job_not_found"


def test_a_failed_job_carries_its_problem(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, _ = jobs_client
    location = _start(client, mode="async", wait_seconds=0.2)
    job = client.get(location, params={"wait": 5}).json()
    assert job["status"] == "failed" and job["problem"]["code"] == "no_card"
    assert job["problem"]["status"] == 409 and job["problem"]["hint"]


def test_a_job_is_invisible_to_other_clients(
    jobs_client: tuple[TestClient, dict[str, str]], reader_pair: VirtualReaderPair
) -> None:
    client, other = jobs_client
    location = _start(client, mode="async", wait_seconds=1)
    for call in (client.get, client.delete):
        response = call(location, headers=other)
        assert response.status_code == 404 and response.json()["code"] == "job_not_found"
    assert client.get(location).status_code == 200
    client.delete(location)


def test_a_malformed_job_id_is_invalid(jobs_client: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = jobs_client
    assert client.get("/v1/verifications/not-an-id").status_code == 422
    unknown = client.get("/v1/verifications/" + "0" * 32)
    assert unknown.status_code == 404 and unknown.json()["code"] == "job_not_found"
