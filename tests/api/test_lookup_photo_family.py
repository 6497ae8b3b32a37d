"""NIK lookups with the registry's face photo and the family card's members (real simulator)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway.config import AgreementSettings, AuthSettings, Settings
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway_dev.simulators.population import PHOTO_DIR
from ktp_gateway_dev.stack.pcscd import PcscdService
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import Simulator, accountable, make_settings

BUDI = "3171011505809901"
BUDI_KK = "3171012001109901"
FAMILY = {"3171011505809901", "3171015208859902", "3171010303159903"}  # budi, siti, andi


def _queries(sim: Simulator) -> dict[str, int]:
    counts: dict[str, int] = sim.admin("stats")["queries"]
    return counts


def _lookup(client: TestClient, **body: object) -> Any:
    return client.post("/v1/nik-lookups", json=accountable(nik=BUDI, **body))


def _with_agreement(settings: Settings, tmp_path: Path, **changes: object) -> Settings:
    data = yaml.safe_load(DEMO_AGREEMENT_FILE.read_text())
    data["agreement"].update(changes)
    path = tmp_path / "agreement.yaml"
    path.write_text(yaml.safe_dump(data))
    agreement = AgreementSettings(file=path, suspension_file=tmp_path / "suspended")
    return settings.model_copy(update={"agreement": agreement})


def _audit(client: TestClient) -> list[dict[str, Any]]:
    trail: AuditTrail = client.app.state.services.policy.trail  # type: ignore[attr-defined]
    return [r.data for r in trail.records() if r.kind is Kind.ACCESS]


def test_the_photo_is_released_when_granted_and_asked(client: TestClient, sim: Simulator) -> None:
    response = _lookup(client, include_photo=True)
    assert response.status_code == 200, response.text
    photo = response.json()["photo"]
    assert photo["content_type"] == "image/jpeg"
    assert base64.b64decode(photo["base64"]) == (PHOTO_DIR / "budi.jpg").read_bytes()
    assert response.json()["family"] is None
    assert response.headers["cache-control"] == "no-store"
    assert _queries(sim) == {"nik": 1, "photo": 1}


def test_family_members_carry_only_the_effective_fields_and_never_the_kk_number(
    client: TestClient, sim: Simulator
) -> None:
    response = _lookup(client, include_family=True, required_fields=["nik", "nama_lengkap"])
    assert response.status_code == 200, response.text
    family = response.json()["family"]
    assert {member["data"]["nik"] for member in family} == FAMILY
    for member in family:
        released = {name for name, value in member["data"].items() if value is not None}
        assert released == {"nik", "nama_lengkap"}
    assert {m["hubungan_keluarga"] for m in family} >= {"KEPALA KELUARGA", "ISTRI"}
    text = response.text
    assert BUDI_KK not in text and "ISLAM" not in text and "ANI SAMPEL IBUNDA" not in text
    assert response.json()["photo"] is None
    assert _queries(sim) == {"nik": 1, "family": 1}


def test_a_member_field_the_agreement_does_not_grant_never_leaves(
    sim: Simulator, pcscd_service: PcscdService, tmp_path: Path
) -> None:
    granted = ["nik", "nama_lengkap", "tanggal_lahir"]
    settings = _with_agreement(make_settings(sim.base_url), tmp_path, granted_fields=granted)
    with TestClient(create_app(settings)) as client:
        response = _lookup(client, include_family=True)
    assert response.status_code == 200, response.text
    for member in response.json()["family"]:
        assert {k for k, v in member["data"].items() if v is not None} == set(granted)
    assert "ANI SAMPEL IBUNDA" not in response.text and "BANDUNG" not in response.text


def test_not_asked_means_not_fetched(client: TestClient, sim: Simulator) -> None:
    response = _lookup(client)
    assert response.status_code == 200
    assert response.json()["photo"] is None and response.json()["family"] is None
    assert _queries(sim) == {"nik": 1}


@pytest.mark.parametrize(
    ("allowed", "asked"),
    [({"fields": ["nik", "nama_lengkap"]}, {"include_photo": True}),  # narrowed: no opt-in
     ({"photo": False}, {"include_photo": True}),
     ({"family": False}, {"include_family": True}),
     ({"photo": True, "family": False}, {"include_photo": True, "include_family": True})],
)  # fmt: skip
def test_a_client_not_allowed_is_refused_before_dukcapil(
    sim: Simulator,
    pcscd_service: PcscdService,
    tmp_path: Path,
    allowed: dict[str, object],
    asked: dict[str, object],
) -> None:
    key, entry = make_key()
    clients = write_clients(
        tmp_path / "clients.yaml", [{"name": "intake", "keys": [entry], **allowed}]
    )
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=clients)}
    )
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        response = _lookup(client, **asked)
        caller = client.get("/v1/caller").json()
    assert response.status_code == 403 and response.json()["code"] == "field_not_granted"
    assert sim.requests() == 0
    assert not all(caller[name.removeprefix("include_")] for name in asked)  # GET /v1/caller


def test_a_client_that_opted_in_gets_the_photo_with_narrowed_fields(
    sim: Simulator, pcscd_service: PcscdService, tmp_path: Path
) -> None:
    key, entry = make_key()
    clients = write_clients(
        tmp_path / "clients.yaml",
        [{"name": "intake", "keys": [entry], "fields": ["nik"], "photo": True}],
    )
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=clients)}
    )
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        assert _lookup(client, include_photo=True).status_code == 200
        assert _lookup(client, include_family=True).status_code == 403


@pytest.mark.parametrize(
    ("grant", "asked"),
    [({"photo_granted": False}, {"include_photo": True}),
     ({"family_granted": False}, {"include_family": True})],
)  # fmt: skip
def test_an_agreement_without_the_grant_refuses_and_sends_nothing(
    sim: Simulator,
    pcscd_service: PcscdService,
    tmp_path: Path,
    grant: dict[str, object],
    asked: dict[str, object],
) -> None:
    settings = _with_agreement(make_settings(sim.base_url), tmp_path, **grant)
    with TestClient(create_app(settings)) as client:
        response = _lookup(client, **asked)
        [record] = _audit(client)
    assert response.status_code == 403 and response.json()["code"] == "field_not_granted"
    assert sim.requests() == 0
    assert record["outcome"] == "refused" and record["code"] == "field_not_granted"


@pytest.mark.parametrize(
    ("target", "fault", "status", "code"),
    [("photo", {"mode": "http_500"}, 503, "dukcapil_unavailable"),
     ("photo", {"mode": "broken_json"}, 502, "dukcapil_bad_response"),
     ("photo", {"mode": "refusal", "code": "05"}, 503, "dukcapil_quota_exhausted"),
     ("family", {"mode": "html", "status": 200}, 502, "dukcapil_bad_response"),
     ("family", {"mode": "other_person"}, 502, "dukcapil_bad_response")],
)  # fmt: skip
def test_a_failing_photo_or_family_query_fails_the_whole_lookup_with_its_typed_error(
    client: TestClient,
    sim: Simulator,
    target: str,
    fault: dict[str, object],
    status: int,
    code: str,
) -> None:
    sim.admin("faults", {**fault, "count": 1, "target": target})
    response = _lookup(client, include_photo=True, include_family=True)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert "BUDI" not in response.text and BUDI not in response.text
    record = _audit(client)[-1]
    assert record["code"] == code and record["outcome"] == "error"
    assert _lookup(client, include_photo=True, include_family=True).status_code == 200


def test_the_audit_counts_the_photo_and_members_and_holds_no_personal_data(
    client: TestClient, sim: Simulator
) -> None:
    assert _lookup(client, include_photo=True, include_family=True).status_code == 200
    [record] = _audit(client)
    assert record["photo_released"] is True and record["family_members_released"] == len(FAMILY)
    assert "foto_wajah" in record["fields_released"]
    text = client.app.state.services.policy.trail.path.read_text()  # type: ignore[attr-defined]
    for value in (*FAMILY, BUDI_KK, "BUDI", "SITI", "ANDI", "CONTOH"):
        assert value not in text
    photo = (PHOTO_DIR / "budi.jpg").read_bytes()
    assert base64.b64encode(photo)[:40].decode() not in text


def test_accountability_is_required_as_for_any_registry_access(
    client: TestClient, sim: Simulator
) -> None:
    body = {"nik": BUDI, "include_photo": True, "include_family": True}
    response = client.post("/v1/nik-lookups", json=body)
    assert response.status_code == 422 and response.json()["code"] == "accountability_required"
    assert sim.requests() == 0


def test_a_failed_lookup_is_audited_as_releasing_nothing(
    client: TestClient, sim: Simulator
) -> None:
    sim.admin("faults", {"mode": "http_500", "count": 1, "target": "family"})
    response = _lookup(client, include_photo=True, include_family=True)
    assert response.status_code == 503, response.text
    record = _audit(client)[-1]
    assert record["outcome"] == "error" and record["registry_queried"] is True
    assert record["fields_released"] == [] and record["photo_released"] is False
    assert record["family_members_released"] is None


def _missing(value: Any, schema: dict[str, Any], schemas: dict[str, Any], at: str) -> list[str]:
    """Keys the contract calls required that `value` lacks, anywhere inside it."""
    if "$ref" in schema:
        return _missing(value, schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, at)
    if "anyOf" in schema:
        return min((_missing(value, s, schemas, at) for s in schema["anyOf"]), key=len)
    if isinstance(value, list) and "items" in schema:
        return [m for item in value for m in _missing(item, schema["items"], schemas, at + "[]")]
    if not isinstance(value, dict) or "properties" not in schema:
        return []
    gone = [f"{at}.{key}" for key in schema.get("required", []) if key not in value]
    for key, sub in schema["properties"].items():
        if key in value:
            gone += _missing(value[key], sub, schemas, f"{at}.{key}")
    return gone


def test_a_lookup_answer_sends_every_key_the_contract_calls_required(client: TestClient) -> None:
    contract = json.loads((Path(__file__).parents[2] / "openapi.json").read_text())
    schemas = contract["components"]["schemas"]
    for body in ({"include_photo": True, "include_family": True}, {}):
        answer = _lookup(client, **body)
        assert answer.status_code == 200, answer.text
        root = {"$ref": "#/components/schemas/NikLookupResponse"}
        assert _missing(answer.json(), root, schemas, "$") == []
