"""SIGKILL while items are pending and mid-delivery: after a restart, each reaches Dukcapil once.

The simulator records an item when it arrives and answers only after a delay, so a gateway
killed during that delay leaves Dukcapil holding items it never heard accepted. The restarted
gateway (same outbox) sends those again; Dukcapil's "Data sudah pernah dikirim" makes that a
delivery, so every item is accepted by Dukcapil exactly once, none is lost, and the outbox empties.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ktp_gateway_dev.stack.processes import free_port
from tests.dukcapil.conftest import Simulator, start_simulator
from tests.postgres import PostgresServer

from .gateway import Gateway, outbox_env

ITEMS = 24
NIKS = [f"31710115058099{n:02d}" for n in range(1, ITEMS + 1)]  # synthetic, 99xx serials
REGISTER, SK = "REG-{n:04d}/LPSK/2026", "SK-17/RP/LPSK/05/2026"


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    sim.stop()


def ledger(sim: Simulator) -> dict[str, Any]:
    data: dict[str, Any] = sim._admin("GET", "returns")
    return data


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def store_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if backend == "sqlite":
        return {"sqlite_path": str(tmp_path / "outbox.sqlite3")}
    server: PostgresServer = request.getfixturevalue("postgres")
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS ktp_gateway_return_outbox")
    return {"backend": "postgres", "postgres_dsn": server.dsn}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_mid_delivery_loses_nothing_and_sends_nothing_twice(
    simulator: Simulator, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    simulator.configure(return_latency_ms=400)
    env = outbox_env(simulator, store_for(backend, tmp_path, request))
    port = free_port()
    with Gateway(port, simulator, env, tmp_path / "first.log") as first:
        for n, nik in enumerate(NIKS):
            body = {
                "officer_id": "PETUGAS-UJI-01",
                "purpose": "perlindungan_saksi",
                "nik": nik,
                "nomor_register": REGISTER.format(n=n),
                "nomor_sk_rapat_paripurna": SK,
            }
            status, item = first.call("POST", "/v1/return-data", body)
            assert status == 202, item
        # Kill while Dukcapil is holding requests it has recorded but not yet answered.
        wait_for(lambda: ledger(simulator)["in_flight"] >= 2, 20, "deliveries in flight")
        first.kill()
        at_kill = ledger(simulator)
    assert 0 < at_kill["items"] < ITEMS, "the kill must come mid-way"
    unanswered = at_kill["in_flight"]
    simulator.configure(return_latency_ms=0)
    with Gateway(port, simulator, env, tmp_path / "second.log") as second:
        wait_for(
            lambda: second.call("GET", "/v1/return-data")[1]["items"] == [], 60, "an empty outbox"
        )
        after = ledger(simulator)
    records = after["records"]
    assert sorted(r["nik"] for r in records) == sorted(NIKS)  # none lost
    assert all(r["accepted"] == 1 for r in records)  # each accepted by Dukcapil exactly once
    logs = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert not any(nik in logs for nik in NIKS)  # nothing personal in the gateway's logs
    resent = sum(r["received"] for r in records) - ITEMS
    assert resent >= 1 and after["outcomes"].get("duplicate", 0) == resent
    print(  # the numbers for the closing note (pytest -s)
        f"\ncrash[{backend}]: {ITEMS} queued; at SIGKILL Dukcapil held {at_kill['items']} "
        f"({unanswered} unanswered); after restart {len(records)} items, each accepted once, "
        f"{resent} resent and answered 'Data sudah pernah dikirim'"
    )
