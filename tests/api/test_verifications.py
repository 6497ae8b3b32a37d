"""`POST /v1/verifications` through pcscd, pyscard, the virtual card and SAM, and the simulator."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import ACCOUNTABLE, AGREEMENT, Simulator

pytestmark = pytest.mark.pcsc

UNGRANTED = (
    "ISLAM",
    "KRISTEN",
    "HINDU",
    "WNI",
    "SEUMUR HIDUP",
    "DIPLOMA",
    "KEPALA KELUARGA",
    "KARTU",
)


def _verify(client: TestClient, **body: object) -> tuple[int, dict[str, object], dict[str, str]]:
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 5, **body})
    return response.status_code, response.json(), dict(response.headers)


def test_full_verification_of_a_genuine_card(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    status, body, headers = _verify(client)
    assert status == 200, body
    assert body["outcome"] == "verified"
    card, registry = body["card"], body["registry"]
    assert card["reader"] == CARD_READER and card["authenticated"] and card["signature_verified"]
    assert card["data"]["nama_lengkap"] == "BUDI CONTOH" and card["photo"] is None
    assert registry["status"] == "found"
    assert registry["data"]["nama_ibu_kandung"] == "SRI CONTOH IBUNDA"
    assert body["comparison"]["nama_lengkap"] == "match"
    assert body["comparison"]["alamat"] == "match"
    assert body["comparison"]["nama_ibu_kandung"] == "not_on_card"
    assert body["source"]["agreement"] == AGREEMENT
    assert headers["cache-control"] == "no-store" and headers["pragma"] == "no-cache"
    assert "etag" not in headers
    text = json.dumps(body)
    assert not any(value in text for value in UNGRANTED)  # agama, kewarganegaraan... never leave


def test_photo_only_when_asked(client: TestClient, reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    status, body, _ = _verify(client, include_photo=True)
    assert status == 200
    assert body["card"]["photo"]["content_type"] == "image/jpeg"  # type: ignore[index]
    assert body["card"]["photo"]["base64"].startswith("/9j/")  # type: ignore[index]


@pytest.mark.parametrize(
    ("person", "outcome", "field"),
    [("siti", "mismatch", "alamat"), ("dewi", "mismatch", "nama_lengkap")],
)
def test_card_and_registry_disagreeing_is_a_mismatch(
    client: TestClient, reader_pair: VirtualReaderPair, person: str, outcome: str, field: str
) -> None:
    reader_pair.place(person)
    status, body, _ = _verify(client)
    assert status == 200 and body["outcome"] == outcome
    assert body["comparison"][field] == "mismatch"  # type: ignore[index]


@pytest.mark.parametrize(
    ("person", "outcome"),
    [("agus", "holder_deceased"), ("rina", "record_blocked"), ("joko", "not_in_registry")],
)
def test_registry_findings_about_the_person_are_outcomes(
    client: TestClient, reader_pair: VirtualReaderPair, person: str, outcome: str
) -> None:
    reader_pair.place(person)
    status, body, _ = _verify(client)
    assert status == 200 and body["outcome"] == outcome
    assert body["registry"]["data"] is None  # type: ignore[index]


def test_a_card_whose_keys_the_sam_does_not_hold_is_refused(
    client: TestClient, reader_pair: VirtualReaderPair, sim: Simulator
) -> None:
    reader_pair.place("budi", clone=True)
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 5})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "card_auth_failed" and problem["request_id"] and problem["hint"]
    assert "BUDI" not in response.text
    assert sim.requests() == 0  # nothing from an unauthenticated card reaches Dukcapil


def test_no_card_within_the_wait(client: TestClient, reader_pair: VirtualReaderPair) -> None:
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 0.2})
    assert response.status_code == 409 and response.json()["code"] == "no_card"


def test_readers_lists_the_virtual_pair(client: TestClient, reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    response = client.get("/v1/readers")
    assert response.status_code == 200
    [reader] = [r for r in response.json()["readers"] if r["name"] == CARD_READER]
    assert reader["name"] == CARD_READER and reader["card_present"] and reader["sam_present"]


def test_a_pcsc_reader_refuses_a_required_holder_check_before_the_card_and_the_registry(
    client: TestClient, reader_pair: VirtualReaderPair, sim: Simulator
) -> None:
    reader_pair.place("budi")
    before = sim.requests()
    status, body, _ = _verify(client, reader=CARD_READER, holder_check="fingerprint")
    assert (status, body["code"]) == (409, "holder_check_unavailable")
    assert sim.requests() == before
    optional = {"method": "fingerprint", "required": False}
    status, body, _ = _verify(client, reader=CARD_READER, holder_check=optional)
    assert status == 200 and body["outcome"] == "verified"
    assert body["holder_check"] == {
        "method": "fingerprint",
        "required": False,
        "finger": None,
        "result": "not_attempted",
    }
