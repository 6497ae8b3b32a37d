"""A verification that carries the case numbers queues its data balikan, through every real part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.dukcapil.conftest import Simulator, start_simulator

from .gateway import Gateway, outbox_env
from .test_api import NIK, wait_until


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Gateway, Simulator, dict[str, str]]]:
    sim = start_simulator()
    env = outbox_env(sim, {"sqlite_path": str(tmp_path / "outbox.sqlite3")})
    try:
        with Gateway(free_port(), sim, env, tmp_path / "gateway.log") as gateway:
            yield gateway, sim, env
    finally:
        sim.stop()


@pytest.mark.pcsc
def test_a_verification_with_case_numbers_queues_its_data_balikan(
    running: tuple[Gateway, Simulator, dict[str, str]],
    pcscd_service: PcscdService,
    reader_pair: VirtualReaderPair,
) -> None:
    gateway, sim, _ = running
    sim.reset()
    reader_pair.place("budi")
    body = {**DEMO_ACCOUNTABILITY, "wait_seconds": 5, "nomor_sk_rapat_paripurna": "SK-9/RP/2026"}
    status, result = gateway.call("POST", "/v1/verifications", body)
    assert status == 200, result
    assert result["return_data"]["queued"] is True
    wait_until(lambda: gateway.call("GET", "/v1/return-data")[1]["items"] == [], "delivery")
    (record,) = sim._admin("GET", "returns")["records"]
    assert record["nik"] == NIK
    assert record["param"] == {
        "nomor_register": DEMO_ACCOUNTABILITY["nomor_register"],
        "nomor_sk_rapat_paripurna": "SK-9/RP/2026",
    }
    without = {**DEMO_ACCOUNTABILITY, "wait_seconds": 5}
    status, result = gateway.call("POST", "/v1/verifications", without)
    assert status == 200 and result["return_data"] is None  # no SK: nothing queued
