"""Claims verification through the HTTP interface: per-field verdicts, no registry value out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.conftest import ACCOUNTABLE, Simulator

BUDI = "3171011505809901"
REGISTRY_VALUES = ("BUDI CONTOH", "SRI CONTOH", "JAKARTA", "1980", "CONTOH RAYA", "KARYAWAN")


def _claims(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/v1/claims-verifications", json={**ACCOUNTABLE, **body})
    assert response.status_code == 200, response.text
    for value in REGISTRY_VALUES:  # what the caller did not send never comes back
        if value not in str(body):
            assert value not in response.text
    return dict(response.json())


def test_true_claims_match_despite_titles_case_and_spelling(client: TestClient) -> None:
    answer = _claims(
        client,
        nik=BUDI,
        claims={
            "nama_lengkap": "Dr. H. Budi Contoh, S.H.",
            "tanggal_lahir": "1980-05-15",
            "tempat_lahir": "Kota Jakarta",
            "jenis_kelamin": "L",
            "nama_ibu_kandung": "Hj. Sri Contoh Ibunda",
            "alamat": {"alamat": "Jalan Contoh Raya Nomor 1", "rt": "1", "rw": "02"},
        },
    )
    results = answer["results"]
    assert isinstance(results, dict)
    assert {name: r["result"] for name, r in results.items()} == dict.fromkeys(
        [
            "nama_lengkap",
            "jenis_kelamin",
            "tempat_lahir",
            "tanggal_lahir",
            "nama_ibu_kandung",
            "alamat",
        ],
        "match",
    )
    assert results["nama_lengkap"]["score"] == 100
    assert results["alamat"]["parts"] == {"alamat": 100, "rt": 100, "rw": 100}
    assert answer["all_match"] is True and answer["registry"] == "found"
    assert answer["nik_from"] == "request" and answer["card"] is None


def test_false_claims_do_not_match_and_say_by_how_much(client: TestClient) -> None:
    answer = _claims(
        client,
        nik=BUDI,
        claims={
            "nama_lengkap": "Andi Contoh",
            "tanggal_lahir": "1980-05-16",
            "jenis_kelamin": "Perempuan",
            "alamat": {"rt": "3"},
        },
    )
    results = answer["results"]
    assert isinstance(results, dict)
    assert all(r["result"] == "no_match" for r in results.values())
    assert 50 <= results["nama_lengkap"]["score"] < 90
    assert results["tanggal_lahir"]["score"] == 0
    assert answer["all_match"] is False


def test_an_unknown_nik_is_a_finding_not_an_error(client: TestClient) -> None:
    answer = _claims(client, nik="3273011111889907", claims={"nama_lengkap": "Joko Fiktif"})
    assert answer["registry"] == "not_found" and answer["results"] == {}
    assert answer["all_match"] is False


def test_claims_need_at_least_one_field_and_no_unknown_ones(
    client: TestClient, sim: Simulator
) -> None:
    for claims in ({}, {"agama": "ISLAM"}, {"alamat": {}}):
        response = client.post(
            "/v1/claims-verifications", json={**ACCOUNTABLE, "nik": BUDI, "claims": claims}
        )
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert sim.requests() == 0


def test_a_malformed_nik_never_leaves(client: TestClient, sim: Simulator) -> None:
    response = client.post(
        "/v1/claims-verifications",
        json={**ACCOUNTABLE, "nik": "123", "claims": {"nama_lengkap": "X"}},
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_nik"
    assert sim.requests() == 0


@pytest.mark.pcsc
def test_by_card_the_nik_comes_from_the_authenticated_card_and_is_not_released(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    answer = _claims(client, wait_seconds=5, claims={"nama_lengkap": "Budi Contoh"})
    assert answer["nik_from"] == "card" and answer["all_match"] is True
    card = answer["card"]
    assert isinstance(card, dict) and card["authenticated"] and card["signature_verified"]
    assert BUDI not in str(answer)
