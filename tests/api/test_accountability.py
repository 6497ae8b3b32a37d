"""Officer, purpose and agreement on every card or registry request, recorded in the audit trail.

Through the real app and the real simulator process: refusals happen before Dukcapil is asked,
and every access (refused ones too) leaves one audit record with names, never values.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from ktp_gateway.api.app import build_services, create_app
from ktp_gateway.audit.render import to_html
from ktp_gateway.audit.report import build_report, date_range
from ktp_gateway.audit.verify import verify_trail
from ktp_gateway.config import AgreementSettings
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway.privacy.policy import Policy
from ktp_gateway_dev.stack.pcscd import PcscdService
from tests.api.conftest import ACCOUNTABLE, AGREEMENT, Simulator, make_settings

BUDI = "3171011505809901"


def _policy(client: TestClient) -> Policy:
    policy: Policy = client.app.state.services.policy  # type: ignore[attr-defined]
    return policy


def _agreement(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(DEMO_AGREEMENT_FILE.read_text())
    data["agreement"].update(changes)
    path = tmp_path / "agreement.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "body",
    [
        {"nik": BUDI},
        {"nik": BUDI, "officer_id": "PETUGAS-1"},
        {"nik": BUDI, "purpose": "perlindungan_saksi"},
        {"nik": BUDI, "officer_id": BUDI, "purpose": "perlindungan_saksi"},
        {"nik": BUDI, **ACCOUNTABLE, "nomor_register": f"REG/{BUDI}"},
        {"nik": BUDI, "officer_id": "PETUGAS 1; DROP", "purpose": "perlindungan_saksi"},
    ],
)
def test_a_request_without_a_proper_officer_and_purpose_is_refused_before_dukcapil(
    client: TestClient, sim: Simulator, body: dict[str, object]
) -> None:
    response = client.post("/v1/nik-lookups", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "accountability_required"
    assert BUDI not in response.text
    assert sim.requests() == 0


def test_an_officer_nip_is_a_valid_officer_id(client: TestClient, sim: Simulator) -> None:
    body = {**ACCOUNTABLE, "nik": BUDI, "officer_id": "198501012010011001"}  # NIP: 18 digits
    assert client.post("/v1/nik-lookups", json=body).status_code == 200


def test_a_purpose_outside_the_agreement_is_refused_and_recorded(
    client: TestClient, sim: Simulator
) -> None:
    body = {**ACCOUNTABLE, "nik": BUDI, "purpose": "penagihan_utang"}
    response = client.post("/v1/nik-lookups", json=body)
    assert response.status_code == 403 and response.json()["code"] == "purpose_not_in_agreement"
    assert sim.requests() == 0
    [record] = [r for r in _policy(client).trail.records() if r.kind == "access"]
    assert record.data["outcome"] == "refused" and record.data["purpose"] == "penagihan_utang"
    assert record.data["registry_queried"] is False


def test_every_access_is_in_the_audit_trail_with_names_never_values(
    client: TestClient, sim: Simulator
) -> None:
    body = {**ACCOUNTABLE, "nik": BUDI, "nomor_register": "REG-LPSK/2026/0042"}
    response = client.post("/v1/nik-lookups", json=body)
    assert response.status_code == 200
    assert response.json()["source"]["agreement"] == AGREEMENT
    missing = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3273011111889907"})
    assert missing.status_code == 404
    trail = _policy(client).trail
    found, absent = [r for r in trail.records() if r.kind == "access"]
    assert found.data["officer_id"] == ACCOUNTABLE["officer_id"]
    assert found.data["purpose"] == "perlindungan_saksi"
    assert found.data["nomor_register"] == "REG-LPSK/2026/0042"
    assert found.data["operation"] == "nik_lookup" and found.data["client"] == "local"
    assert found.data["request_id"] == response.headers["x-request-id"]
    assert "nama_ibu_kandung" in found.data["fields_released"]  # type: ignore[operator]
    assert found.data["outcome"] == "found" and found.data["card_read"] is False
    assert absent.data["outcome"] == "not_in_registry"
    assert absent.data["code"] == "dukcapil_not_found" and absent.data["fields_released"] == []
    text = trail.path.read_text()
    assert BUDI not in text and "BUDI" not in text and "SRI CONTOH" not in text
    assert verify_trail(trail).intact


def test_suspension_refuses_at_once_and_lifting_it_needs_no_restart(
    client: TestClient, sim: Simulator
) -> None:
    policy = _policy(client)
    assert policy.guard.suspension_file is not None
    policy.guard.suspension_file.write_text("PKS diputus karena pelanggaran (surat 12/2026)\n")
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI})
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "agreement_suspended"
    assert "DEMO-001/PKS/LPSK/2026" in problem["detail"] and "surat 12/2026" in problem["detail"]
    assert sim.requests() == 0
    standing = client.get("/v1/agreement").json()
    assert standing["state"] == "suspended" and standing["suspension_reason"]
    metrics = client.get("/metrics").text
    assert "ktp_gateway_agreement_suspended 1.0" in metrics
    policy.guard.suspension_file.unlink()
    assert client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI}).status_code == 200


def test_registry_access_outside_the_validity_window_is_refused_naming_the_end_date(
    sim: Simulator, pcscd_service: PcscdService, tmp_path: Path
) -> None:
    settings = make_settings(sim.base_url)
    ended = _agreement(tmp_path, valid_from="2024-01-01", valid_until="2025-12-31")
    settings = settings.model_copy(
        update={"agreement": settings.agreement.model_copy(update={"file": ended})}
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI})
        assert response.status_code == 403
        problem = response.json()
        assert problem["code"] == "agreement_not_in_force"
        assert "ended on 2025-12-31" in problem["detail"] and "DEMO-001/PKS" in problem["detail"]
        verification = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 0})
        assert verification.json()["code"] == "agreement_not_in_force"
        metrics = client.get("/metrics").text
        assert "ktp_gateway_agreement_in_force 0.0" in metrics
        days = next(
            line for line in metrics.splitlines()
            if line.startswith("ktp_gateway_agreement_days_remaining ")
        )  # fmt: skip
        assert float(days.split()[1]) < 0
    assert sim.requests() == 0


def test_fields_the_agreement_does_not_grant_never_leave_and_are_counted(
    sim: Simulator, pcscd_service: PcscdService, tmp_path: Path
) -> None:
    settings = make_settings(sim.base_url)
    narrow = _agreement(tmp_path, granted_fields=["nik", "nama_lengkap", "tanggal_lahir"])
    settings = settings.model_copy(
        update={"agreement": settings.agreement.model_copy(update={"file": narrow})}
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI})
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["nama_lengkap"] == "BUDI CONTOH" and data["nama_ibu_kandung"] is None
        assert "SRI CONTOH" not in response.text and "JL. CONTOH" not in response.text
        assert response.json()["fields"]["effective"] == ["nik", "nama_lengkap", "tanggal_lahir"]
        metrics = client.get("/metrics").text
        # what the registry sent beyond the grant is dropped (and counted) by the client
        assert 'ktp_gateway_dukcapil_fields_dropped_total{field="NAMA_LGKP_IBU"' in metrics
        asked_for_more = client.post(
            "/v1/nik-lookups",
            json={**ACCOUNTABLE, "nik": BUDI, "required_fields": ["nama_ibu_kandung"]},
        )
        assert asked_for_more.json()["code"] == "field_not_granted"
        record = next(r for r in _policy(client).trail.records() if r.kind == "access")
        assert record.data["fields_released"] == ["nik", "nama_lengkap", "tanggal_lahir"]


def test_the_agreement_in_force_is_published_for_case_applications(client: TestClient) -> None:
    answer = client.get("/v1/agreement").json()
    assert answer["state"] == "in_force" and answer["synthetic"] is True
    assert answer["days_remaining"] > 0
    assert "perlindungan_saksi" in {p["code"] for p in answer["purposes"]}
    assert answer["provider"]["number"] == "DEMO-001/PKS/DUKCAPIL/2026"


def test_no_agreement_file_no_start(sim: Simulator) -> None:
    settings = make_settings(sim.base_url)
    settings = settings.model_copy(update={"agreement": AgreementSettings(file=None)})
    with pytest.raises(ConfigurationError, match="KTP_GATEWAY_AGREEMENT__FILE"):
        build_services(settings)


def test_the_start_is_recorded_and_the_trail_files_are_private(client: TestClient) -> None:
    trail = _policy(client).trail
    started = next(r for r in trail.records() if r.kind == "started")
    assert started.data["agreement"] == "DEMO-001/PKS/LPSK/2026"
    assert trail.path.stat().st_mode & 0o077 == 0
    assert json.loads(trail.head_path.read_text())["seq"] >= 1


def test_a_report_generated_from_this_run_counts_it(client: TestClient, sim: Simulator) -> None:
    client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI})
    client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3273011111889907"})
    client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI, "purpose": "lain_lain"})
    today = dt.datetime.now(dt.UTC).date()
    report = build_report(
        _policy(client).trail, date_range(today, today), agreement={"reference": AGREEMENT}
    )
    assert report.accesses == 3 and report.nik_only == 2 and report.refused == 1
    assert report.by_outcome == {"found": 1, "not_in_registry": 1, "refused": 1}
    assert report.by_officer == {ACCOUNTABLE["officer_id"]: 2}  # the refused one: by reason
    assert report.gateway_starts == 1 and report.trail.intact
    html = to_html(report)
    assert "<svg" in html and BUDI not in html and "BUDI" not in html
