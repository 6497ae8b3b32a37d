"""Fast route tests on the dependency seam: no pcscd, no simulator process.

The app is built from `Services` without readers and with a stand-in registry, and one
dependency is overridden where a test needs another; the routes must still answer every case
with a typed problem (never a 500), build HTTP from the errors' facts in one place, and audit
registry findings under the one table's words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from ktp_gateway.api.app import create_app
from ktp_gateway.api.deps import Services, get_registry
from ktp_gateway.domain import FacePhoto, FamilyMember, PersonData
from ktp_gateway.dukcapil_client.messages import DukcapilRefusal
from ktp_gateway.errors import DukcapilError, ErrorCode
from ktp_gateway.observability.metrics import GatewayMetrics
from ktp_gateway.privacy.policy import Policy
from ktp_gateway.verification.findings import FINDINGS
from tests.api.conftest import ACCOUNTABLE, make_settings

NIK = "3171011505809901"  # budi, synthetic
RECORD = PersonData(nik=NIK, nama_lengkap="BUDI CONTOH", tanggal_lahir=dt.date(1980, 5, 15))


class StandInRegistry:
    """Answers every NIK with one synthetic record, or raises what it was told to."""

    def __init__(self, error: DukcapilError | None = None) -> None:
        self.error = error
        self.asked = 0

    async def query_nik(self, nik: str) -> PersonData:
        self.asked += 1
        if self.error is not None:
            raise self.error
        return RECORD.model_copy(update={"nik": nik})

    async def query_photo(self, nik: str) -> FacePhoto:
        raise DukcapilError("not in this stand-in", code=ErrorCode.DUKCAPIL_UNAVAILABLE)

    async def query_family(self, nik: str) -> list[FamilyMember]:
        raise DukcapilError("not in this stand-in", code=ErrorCode.DUKCAPIL_UNAVAILABLE)


@pytest.fixture
def registry() -> StandInRegistry:
    return StandInRegistry()


@pytest.fixture
def services(registry: StandInRegistry) -> Services:
    settings = make_settings("http://127.0.0.1:9")  # never called: the registry stands in
    metrics = GatewayMetrics(CollectorRegistry())
    policy = Policy.from_settings(settings, metrics.collectors)
    return Services(
        settings=settings, readers=None, registry=registry, metrics=metrics, policy=policy
    )


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


def _outcomes(services: Services) -> list[str]:
    records = services.policy.trail.records()
    return [str(r.data["outcome"]) for r in records if r.kind == "access"]


def _lookup(client: TestClient) -> dict[str, object]:
    response = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": NIK})
    body: dict[str, object] = response.json()
    return {"status": response.status_code, **body, "headers": response.headers}


def test_a_lookup_through_the_seam_releases_the_record(
    client: TestClient, services: Services, registry: StandInRegistry
) -> None:
    answer = _lookup(client)
    assert answer["status"] == 200 and registry.asked == 1
    assert answer["data"]["nama_lengkap"] == "BUDI CONTOH"  # type: ignore[index]
    assert _outcomes(services) == ["found"]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.code.value)
def test_each_finding_is_its_problem_and_its_audit_word(
    client: TestClient, services: Services, registry: StandInRegistry, finding: object
) -> None:
    code = finding.code  # type: ignore[attr-defined]
    registry.error = DukcapilError("a finding", code=code)
    answer = _lookup(client)
    assert answer["code"] == code.value and answer["status"] in (404, 409, 410, 422)
    assert _outcomes(services) == [finding.audit]  # type: ignore[attr-defined]


def test_one_service_is_overridden_without_building_the_others(
    client: TestClient, registry: StandInRegistry
) -> None:
    other = StandInRegistry(DukcapilError("down", code=ErrorCode.DUKCAPIL_TIMEOUT))
    client.app.dependency_overrides[get_registry] = lambda: other  # type: ignore[attr-defined]
    answer = _lookup(client)
    assert answer["code"] == "dukcapil_timeout" and answer["status"] == 504
    assert other.asked == 1 and registry.asked == 0


def test_retry_after_is_built_from_the_errors_fact(
    client: TestClient, registry: StandInRegistry
) -> None:
    quota = DukcapilRefusal(
        ErrorCode.DUKCAPIL_QUOTA_EXHAUSTED, "quota", message=None, response_code="05"
    )
    quota.retry_after_seconds = 29.2
    registry.error = quota
    answer = _lookup(client)
    assert answer["status"] == 503 and answer["code"] == "dukcapil_quota_exhausted"
    assert answer["headers"]["retry-after"] == "30"  # type: ignore[index]


def test_a_gateway_without_readers_answers_typed_problems(
    client: TestClient, registry: StandInRegistry
) -> None:
    tap = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 0})
    assert tap.status_code == 404 and tap.json()["code"] == "reader_not_found"
    listing = client.get("/v1/readers")
    assert listing.status_code == 404 and listing.json()["code"] == "reader_not_found"
    by_card = client.post(
        "/v1/claims-verifications", json={**ACCOUNTABLE, "claims": {"nama_lengkap": "BUDI"}}
    )
    assert by_card.status_code == 404 and by_card.json()["code"] == "reader_not_found"
    by_nik = client.post(
        "/v1/claims-verifications",
        json={**ACCOUNTABLE, "nik": NIK, "claims": {"nama_lengkap": "Budi Contoh"}},
    )
    assert by_nik.status_code == 200 and by_nik.json()["all_match"] is True
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["readers"] == 0
    assert registry.asked == 1


def test_an_absent_outbox_is_return_data_disabled(client: TestClient) -> None:
    body = {
        **ACCOUNTABLE,
        "nik": NIK,
        "nomor_register": "REG-UJI-1",
        "nomor_sk_rapat_paripurna": "SK-UJI-1",
    }
    response = client.post("/v1/return-data", json=body)
    assert response.status_code == 503 and response.json()["code"] == "return_data_disabled"
