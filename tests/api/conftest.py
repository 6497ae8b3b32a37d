"""The gateway app wired to the real pcscd, virtual reader and a real Dukcapil simulator process."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.config import ActivationSettings, AgreementSettings, AuditSettings, Settings
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE, load_agreement
from ktp_gateway_dev.simulators.activation import record_json, virtual_records
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port

USER_ID = "UJICOBA-API"
PASSWORD = "sandi-ujicoba-api"
CONSUMER_PATH = "3171/lpsk"
AGREEMENT = load_agreement(DEMO_AGREEMENT_FILE).reference
# Every card or registry request names the officer and a purpose from the agreement.
ACCOUNTABLE = {"officer_id": "PETUGAS-UJICOBA-01", "purpose": "perlindungan_saksi"}
# The audit trails of the apps the tests build (one directory per app, removed at exit).
DATA_DIR = Path(tempfile.mkdtemp(prefix="ktp-gateway-api-tests-"))
atexit.register(shutil.rmtree, DATA_DIR, True)


class Simulator:
    """A running simulator process and its admin endpoints."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310
            f"{self.base_url}/_simulator/{path}",
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.load(response)

    def requests(self) -> int:
        return int(self.admin("stats")["requests"])


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    port = free_port()
    process = ManagedProcess.python_module(
        "Dukcapil simulator",
        "ktp_gateway_dev.simulators.dukcapil",
        "--port", str(port), "--consumer-path", CONSUMER_PATH,
        ready_url=f"http://127.0.0.1:{port}/_simulator/stats",
        env={"DUKCAPIL_SIM_USER_ID": USER_ID, "DUKCAPIL_SIM_PASSWORD": PASSWORD},
    )  # fmt: skip
    with process:
        yield Simulator(port)


@pytest.fixture
def sim(simulator: Simulator) -> Simulator:
    simulator.admin("reset", {})
    return simulator


def make_settings(dukcapil_url: str, **dukcapil: Any) -> Settings:
    data = Path(tempfile.mkdtemp(dir=DATA_DIR))
    return Settings(
        activation=ActivationSettings(record=record_json(virtual_records())),
        dukcapil=DukcapilSettings(
            base_url=dukcapil_url,
            consumer_path=CONSUMER_PATH,
            user_id=USER_ID,
            password=PASSWORD,
            ip_user="127.0.0.1",
            **dukcapil,
        ),
        agreement=AgreementSettings(file=DEMO_AGREEMENT_FILE, suspension_file=data / "suspended"),
        audit=AuditSettings(dir=data / "audit", fsync=False),
    )


@pytest.fixture
def client(sim: Simulator, pcscd_service: PcscdService) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sim.base_url))) as test_client:
        yield test_client


def verification_body(**fields: object) -> dict[str, object]:
    """A verification request as the case application sends it (one place for every test)."""
    return {**ACCOUNTABLE, **fields}


def accountable(**fields: object) -> dict[str, object]:
    """Any card or registry request body, with the officer and purpose every one carries."""
    return {**ACCOUNTABLE, **fields}
