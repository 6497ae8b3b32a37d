"""One table of registry findings: each Dukcapil finding is the same word on every route.

Each registry code that is a finding about the person (11, 12, 13, 14, 15) is driven through the
real simulator process into every route that asks the registry: the NIK lookup answers it as its
typed problem, the other routes as their result, and all of them audit it under one word, which
the semester report counts under one key.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.audit.report import build_report, date_range
from ktp_gateway.privacy.policy import Policy
from ktp_gateway.verification.findings import FINDINGS, RegistryStatus
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.conftest import ACCOUNTABLE, AGREEMENT, Simulator

BUDI = "3171011505809901"

# Dukcapil's code -> (registry status, audit word, the lookup's problem code, its HTTP status)
EXPECTED = {
    "11": ("holder_deceased", "holder_deceased", "dukcapil_holder_deceased", 410),
    "12": ("duplicate_records", "duplicate_records", "dukcapil_duplicate_records", 409),
    "13": ("not_found", "not_in_registry", "dukcapil_not_found", 404),
    "14": ("record_blocked", "record_blocked", "dukcapil_record_blocked", 409),
    "15": ("nik_format_rejected", "nik_format_rejected", "dukcapil_nik_format_rejected", 422),
}


def _policy(client: TestClient) -> Policy:
    policy: Policy = client.app.state.services.policy  # type: ignore[attr-defined]
    return policy


def _arm(sim: Simulator, code: str) -> None:
    # The coded style: its code 15 differs from 13 (the legacy style words both the same).
    sim.admin("config", {"style": "coded"})
    sim.admin("faults", {"mode": "refusal", "code": code, "count": 1, "target": "nik"})


def _audited(client: TestClient) -> list[str]:
    trail = _policy(client).trail
    return [str(r.data["outcome"]) for r in trail.records() if r.kind == "access"]


def _report_outcomes(client: TestClient) -> dict[str, int]:
    today = dt.datetime.now(dt.UTC).date()
    report = build_report(
        _policy(client).trail, date_range(today, today), agreement={"reference": AGREEMENT}
    )
    return report.by_outcome


def test_the_table_covers_every_finding_once() -> None:
    assert {f.status.value for f in FINDINGS} == {s for s, *_ in EXPECTED.values()}
    assert {f.code.value for f in FINDINGS} == {c for *_, c, _ in EXPECTED.values()}
    assert len({f.audit for f in FINDINGS}) == len(FINDINGS)
    assert RegistryStatus.FOUND not in {f.status for f in FINDINGS}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_a_finding_by_nik_is_one_word_on_the_lookup_and_the_claims_routes(
    client: TestClient, sim: Simulator, code: str
) -> None:
    status, word, problem, http = EXPECTED[code]
    _arm(sim, code)
    lookup = client.post("/v1/nik-lookups", json={**ACCOUNTABLE, "nik": BUDI})
    assert lookup.status_code == http and lookup.json()["code"] == problem
    _arm(sim, code)
    claims = client.post(
        "/v1/claims-verifications",
        json={**ACCOUNTABLE, "nik": BUDI, "claims": {"nama_lengkap": "Budi Contoh"}},
    )
    assert claims.status_code == 200 and claims.json()["registry"] == status
    assert _audited(client) == [word, word]
    assert _report_outcomes(client) == {word: 2}


def _job_result(client: TestClient, **body: Any) -> dict[str, Any]:
    started = client.post("/v1/verifications", json=body)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = client.get(started.headers["location"], params={"wait": 5}).json()
        if job["status"] != "pending":
            assert job["status"] == "done", job
            result: dict[str, Any] = job["result"]
            return result
    raise AssertionError("the job did not finish")


@pytest.mark.pcsc
@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_a_finding_by_card_is_the_same_word_on_every_tapping_route(
    client: TestClient, sim: Simulator, reader_pair: VirtualReaderPair, code: str
) -> None:
    status, word, _, _ = EXPECTED[code]
    reader_pair.place("budi")
    tap = {**ACCOUNTABLE, "wait_seconds": 5}
    _arm(sim, code)
    verification = client.post("/v1/verifications", json=tap)
    assert verification.status_code == 200, verification.text
    assert verification.json()["registry"]["status"] == status
    assert verification.json()["outcome"] == word
    _arm(sim, code)
    job = _job_result(client, **tap, mode="async")
    assert job["registry"]["status"] == status and job["outcome"] == word
    _arm(sim, code)
    claims = client.post(
        "/v1/claims-verifications", json={**tap, "claims": {"nama_lengkap": "Budi Contoh"}}
    )
    assert claims.status_code == 200 and claims.json()["registry"] == status
    assert _audited(client) == [word, word, word]
    assert _report_outcomes(client) == {word: 3}
