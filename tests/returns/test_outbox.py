"""The outbox delivering to the real simulator process: once each, through faults, dead letters."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.models import ItemStatus
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway_dev.simulators.dukcapil.config import DEFAULT_RETURN_TOKEN
from tests.dukcapil.conftest import PEOPLE, Simulator, settings_for, start_simulator

from .conftest import outbox_settings

BUDI, SITI = PEOPLE["budi"].nik, PEOPLE["siti"].nik
REGISTER, SK = "REG-0042/LPSK/2026", "SK-17/RP/LPSK/05/2026"


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Simulator:
    simulator.reset()
    return simulator


def returns(sim: Simulator) -> dict[str, Any]:
    ledger: dict[str, Any] = sim._admin("GET", "returns")
    return ledger


def client_settings(sim: Simulator, **returns_overrides: Any) -> DukcapilSettings:
    wire = {
        "url": f"{sim.base_url}/dukcapil/data-balikan/store",
        "token": DEFAULT_RETURN_TOKEN,
        "id_lembaga": "LPSK-UJICOBA",
        **returns_overrides,
    }
    return settings_for(sim, returns=wire, read_timeout_seconds=0.5)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[DukcapilClient]:
    async with DukcapilClient(client_settings(sim)) as dukcapil:
        yield dukcapil


def make_outbox(settings: ReturnDataSettings, sender: DukcapilClient) -> Outbox:
    return Outbox(settings, open_store(settings), Sealer(settings.key()), sender)


async def drain(outbox: Outbox, *, rounds: int = 200) -> None:
    for _ in range(rounds):
        await outbox.deliver_due()
        listing = await outbox.list()
        if not listing.items or all(i.status is ItemStatus.DEAD for i in listing.items):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def test_items_reach_dukcapil_once_and_leave_the_outbox(
    backend_settings: ReturnDataSettings, client: DukcapilClient, sim: Simulator
) -> None:
    outbox = make_outbox(backend_settings, client)
    first, created = await outbox.enqueue(BUDI, REGISTER, SK)
    twin, again = await outbox.enqueue(BUDI, REGISTER, SK)
    await outbox.enqueue(SITI, REGISTER, SK)
    assert created and not again and twin.id == first.id
    assert first.nik_masked == "************9901" and first.status is ItemStatus.PENDING
    await drain(outbox)
    ledger = returns(sim)
    assert sorted(r["nik"] for r in ledger["records"]) == sorted([BUDI, SITI])
    assert all(r["accepted"] == 1 and r["received"] == 1 for r in ledger["records"])
    record = ledger["records"][0]
    assert record["param"] == {"nomor_register": REGISTER, "nomor_sk_rapat_paripurna": SK}
    assert record["id_lembaga"] == "LPSK-UJICOBA" and len(record["idempotency_keys"]) == 1
    assert (await outbox.list()).counts.model_dump() == {"pending": 0, "delivering": 0, "dead": 0}


async def test_data_dukcapil_already_holds_counts_as_delivered(
    tmp_path: Path, client: DukcapilClient, sim: Simulator
) -> None:
    settings = outbox_settings("sqlite", str(tmp_path / "o.sqlite3"))
    outbox = make_outbox(settings, client)
    await client.send_return_data(BUDI, REGISTER, SK, idempotency_key="earlier")
    await outbox.enqueue(BUDI, REGISTER, SK)
    await drain(outbox)
    ledger = returns(sim)
    assert ledger["outcomes"] == {"accepted": 1, "duplicate": 1}
    assert ledger["records"][0]["accepted"] == 1
    assert (await outbox.list()).items == []


@pytest.mark.parametrize(
    "fault",
    [
        {"mode": "html"},
        {"mode": "http_500"},
        {"mode": "empty", "status": 200},
        {"mode": "timeout", "hang_seconds": 2},
    ],
    ids=lambda f: str(f["mode"]),
)
async def test_a_failing_store_is_retried_with_backoff_until_it_accepts(
    tmp_path: Path, client: DukcapilClient, sim: Simulator, fault: dict[str, Any]
) -> None:
    settings = outbox_settings("sqlite", str(tmp_path / "o.sqlite3"), max_attempts=5)
    outbox = make_outbox(settings, client)
    sim.arm({**fault, "count": 2, "target": "return_data"})
    item, _ = await outbox.enqueue(BUDI, REGISTER, SK)
    await outbox.deliver_due()
    after_one = await outbox.get(item.id)
    assert after_one.attempts == 1 and after_one.last_error is not None
    assert after_one.next_attempt_at is not None
    await drain(outbox)
    assert returns(sim)["records"][0]["accepted"] == 1
    assert (await outbox.list()).items == []


async def test_dead_letter_after_max_attempts_then_retry_delivers(
    backend_settings: ReturnDataSettings, sim: Simulator
) -> None:
    async with DukcapilClient(client_settings(sim, token="salah-token")) as wrong:
        outbox = make_outbox(backend_settings, wrong)
        item, _ = await outbox.enqueue(BUDI, REGISTER, SK)
        with capture_logs() as logs:
            await drain(outbox)
    dead = await outbox.get(item.id)
    assert dead.status is ItemStatus.DEAD and dead.attempts == backend_settings.max_attempts
    assert dead.last_error == "dukcapil_auth_failed"
    assert [e["event"] for e in logs].count("returns.dead_letter") == 1
    assert BUDI not in repr(logs) and "salah-token" not in repr(logs)
    assert (await outbox.list("dead")).counts.dead == 1
    async with DukcapilClient(client_settings(sim)) as right:
        outbox = make_outbox(backend_settings, right)
        assert await outbox.retry(item.id) == 1
        await drain(outbox)
    assert returns(sim)["records"][0]["accepted"] == 1
    assert (await outbox.list()).items == []


async def test_the_nik_is_never_stored_in_the_clear(tmp_path: Path, client: DukcapilClient) -> None:
    path = tmp_path / "o.sqlite3"
    outbox = make_outbox(outbox_settings("sqlite", str(path)), client)
    await outbox.enqueue(BUDI, REGISTER, SK)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for value in (BUDI.encode(), REGISTER.encode(), b"LPSK/05"):
        assert value not in stored
    assert path.stat().st_mode & 0o077 == 0


async def test_the_worker_delivers_in_the_background(
    tmp_path: Path, client: DukcapilClient, sim: Simulator
) -> None:
    outbox = make_outbox(outbox_settings("sqlite", str(tmp_path / "o.sqlite3")), client)
    outbox.start()
    try:
        await outbox.enqueue(BUDI, REGISTER, SK)
        for _ in range(100):
            if not (await outbox.list()).items:
                break
            await asyncio.sleep(0.02)
    finally:
        await outbox.stop()
    assert returns(sim)["records"][0]["accepted"] == 1


async def test_a_verification_queues_its_data_balikan(
    tmp_path: Path, client: DukcapilClient, sim: Simulator
) -> None:
    from ktp_gateway.returns.auto import queue_after_verification

    outbox = make_outbox(outbox_settings("sqlite", str(tmp_path / "o.sqlite3")), client)
    ask = {"nik": BUDI, "nomor_register": REGISTER, "nomor_sk": SK}
    receipt = await queue_after_verification(outbox, found=True, **ask)
    assert receipt is not None and receipt.queued and receipt.id
    assert await queue_after_verification(outbox, found=False, **ask) is None  # no access
    assert await queue_after_verification(outbox, found=True, **{**ask, "nomor_sk": None}) is None
    assert await queue_after_verification(None, found=True, **ask) is None
    await drain(outbox)
    assert returns(sim)["records"][0]["nik"] == BUDI


async def test_an_outbox_that_cannot_write_is_reported_not_raised(
    tmp_path: Path, client: DukcapilClient
) -> None:
    from ktp_gateway.returns.auto import queue_after_verification

    path = tmp_path / "o.sqlite3"
    outbox = make_outbox(outbox_settings("sqlite", str(path)), client)
    path.unlink()
    path.mkdir()  # the database file is gone and cannot be made again
    receipt = await queue_after_verification(
        outbox, nik=BUDI, found=True, nomor_register=REGISTER, nomor_sk=SK
    )
    assert receipt is not None and not receipt.queued and receipt.code == "outbox_unavailable"
