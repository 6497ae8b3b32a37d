"""Least data through the HTTP interface: required/optional fields, the effective set, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.config import AuthSettings
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings

BUDI = "3171011505809901"
INTAKE_FIELDS = ["nik", "nama_lengkap", "jenis_kelamin", "alamat"]  # no birth data, no parents


@pytest.fixture
def intake(sim: Simulator, pcscd_service: PcscdService, tmp_path: Path) -> Iterator[TestClient]:
    """A client allowed only some granted fields."""
    key, entry = make_key()
    clients = write_clients(
        tmp_path / "clients.yaml", [{"name": "intake", "keys": [entry], "fields": INTAKE_FIELDS}]
    )
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=clients)}
    )
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        yield client


def _released(data: dict[str, object]) -> set[str]:
    return {name for name, value in data.items() if value is not None}


def test_lookup_releases_only_the_required_fields(client: TestClient) -> None:
    body = {"nik": BUDI, "required_fields": ["nama_lengkap", "tanggal_lahir"]}
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, **body})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert _released(answer["data"]) == {"nama_lengkap", "tanggal_lahir"}
    assert answer["fields"] == {
        "required": ["nama_lengkap", "tanggal_lahir"],
        "optional": [],
        "effective": ["nama_lengkap", "tanggal_lahir"],
    }
    assert "SRI CONTOH IBUNDA" not in response.text and "JAKARTA" not in response.text


def test_asking_nothing_releases_what_the_client_is_allowed(intake: TestClient) -> None:
    answer = intake.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI}).json()
    assert answer["fields"]["effective"] == INTAKE_FIELDS
    assert _released(answer["data"]) == set(INTAKE_FIELDS)


def test_a_required_field_the_client_may_not_receive_is_refused_before_dukcapil(
    intake: TestClient, sim: Simulator
) -> None:
    body = {"nik": BUDI, "required_fields": ["nama_lengkap", "nama_ibu_kandung"]}
    response = intake.post("/v1/nik-lookups", json={**ACCOUNTABLE, **body})
    assert response.status_code == 403
    assert response.json()["code"] == "field_not_granted"
    assert "nama_ibu_kandung" in response.json()["detail"]
    assert sim.requests() == 0


def test_an_optional_field_not_allowed_is_left_out(intake: TestClient) -> None:
    body = {"nik": BUDI, "required_fields": ["nama_lengkap"], "optional_fields": ["tanggal_lahir"]}
    answer = intake.post("/v1/nik-lookups", json={**ACCOUNTABLE, **body}).json()
    assert answer["fields"]["optional"] == ["tanggal_lahir"]
    assert answer["fields"]["effective"] == ["nama_lengkap"]
    assert answer["data"]["tanggal_lahir"] is None


def test_an_unknown_field_name_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI, "required_fields": ["agama"]}
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


@pytest.mark.pcsc
def test_verification_releases_and_compares_only_the_effective_fields(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("siti")  # her registry address differs from her card's
    body = {"wait_seconds": 5, "required_fields": ["nik", "nama_lengkap"]}
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, **body})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert _released(answer["card"]["data"]) == {"nik", "nama_lengkap"}
    assert _released(answer["registry"]["data"]) == {"nik", "nama_lengkap"}
    assert set(answer["comparison"]) == {"nik", "nama_lengkap"}
    assert answer["outcome"] == "verified"  # the address was not asked for, so it cannot differ
    assert answer["fields"]["effective"] == ["nik", "nama_lengkap"]


@pytest.mark.pcsc
def test_a_verification_with_an_ungranted_required_field_never_touches_the_card(
    intake: TestClient, reader_pair: VirtualReaderPair, sim: Simulator
) -> None:
    reader_pair.place("budi")
    body = {"wait_seconds": 5, "required_fields": ["tanggal_lahir"]}
    response = intake.post("/v1/verifications", json={**ACCOUNTABLE, **body})
    assert response.status_code == 403 and response.json()["code"] == "field_not_granted"
    assert sim.requests() == 0
