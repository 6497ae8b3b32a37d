"""`serve --workers N`: N processes on one socket, one rate limit and one audit chain in
PostgreSQL; a worker killed -9 loses no answered record and no accepted data balikan."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from ktp_gateway.api.workers import check_workers
from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.postgres_trail import PostgresTrail
from ktp_gateway.audit.verify import verify_trail
from ktp_gateway.config import Settings
from ktp_gateway.errors import ConfigurationError
from ktp_gateway_dev.stack.processes import free_port
from tests.dukcapil.conftest import CONSUMER_PATH, USER_ID, Simulator
from tests.returns.gateway import Gateway, outbox_env

NIK = "3171011505809901"  # budi, a synthetic person (99xx serial)
WHO = {"officer_id": "PETUGAS-UJI-01", "purpose": "perlindungan_saksi"}


_POSTGRES = {"backend": "postgres", "postgres_dsn": "host=/run/postgresql dbname=ktp"}
_SQLITE_OUTBOX = {"enabled": True, "encryption_key": "A" * 43 + "="}


def _shared(dsn: str, **extra: str) -> dict[str, str]:
    return {
        "KTP_GATEWAY_DUKCAPIL__CONSUMER_PATH": CONSUMER_PATH,
        "KTP_GATEWAY_DUKCAPIL__USER_ID": USER_ID,
        "KTP_GATEWAY_SHARED__BACKEND": "postgres",
        "KTP_GATEWAY_SHARED__POSTGRES_DSN": dsn,
        **extra,
    }


def _workers(gateway: Gateway) -> list[int]:
    """The worker processes under the supervisor (spawned Python processes)."""
    assert gateway.process.process is not None
    found = subprocess.run(  # noqa: S603
        ["pgrep", "-P", str(gateway.process.process.pid), "-f", "spawn_main"],  # noqa: S607
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return [int(pid) for pid in found.stdout.split()]


def _lookup(gateway: Gateway) -> tuple[int, Any]:
    return gateway.call("POST", "/v1/nik-lookups", {**WHO, "nik": NIK})


def test_several_workers_refuse_to_start_on_the_one_process_defaults(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "ktp_gateway.cli", "serve", "--workers", "2"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "KTP_GATEWAY_AUDIT__DIR": str(tmp_path / "audit")},
    )  # fmt: skip
    assert run.returncode == 2
    assert "needs shared.backend: postgres" in run.stderr


@pytest.mark.parametrize(
    ("values", "workers", "refusal"),
    [
        ({}, 2, "needs shared.backend: postgres"),
        ({"shared": _POSTGRES, "return_data": _SQLITE_OUTBOX}, 2, "return_data.backend"),
        ({"shared": _POSTGRES, "dukcapil": {"max_concurrency": 2}}, 3, "max_concurrency (2)"),
        ({"shared": _POSTGRES}, 0, "--workers must be 1 to 64"),
    ],
)
def test_a_worker_count_the_settings_cannot_serve_is_refused_with_the_reason(
    values: dict[str, Any], workers: int, refusal: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(refusal)):
        check_workers(Settings.model_validate(values), workers)
    check_workers(Settings.model_validate(values), 1)  # one process: always possible


def test_two_workers_spend_one_officer_budget_and_write_one_chain(
    simulator: Simulator, dsn: str, tmp_path: Path
) -> None:
    env = _shared(
        dsn,
        KTP_GATEWAY_LIMITS__OFFICER_BURST="6",
        KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE="0.01",
        KTP_GATEWAY_LIMITS__CLIENT_BURST="10000",
        KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE="100000",
    )
    with Gateway(free_port(), simulator, env, tmp_path / "gw.log", "--workers", "2") as gateway:
        assert len(_workers(gateway)) == 2
        statuses = _until_both_workers_answered(gateway)
        other = {**WHO, "officer_id": "PETUGAS-UJI-02"}
        status, problem = gateway.call("POST", "/v1/verifications", other)
        assert (status, problem["code"]) == (404, "reader_not_found")  # readers: one process
    # One budget of 6 for the officer, whichever worker answered: not 6 per worker.
    assert statuses.count(200) == 6 and set(statuses) == {200, 429}
    verdict = verify_trail(PostgresTrail(dsn))
    assert verdict.intact, verdict.findings[:3]
    kinds = [record.kind for record in PostgresTrail(dsn).records()]
    assert kinds.count(Kind.STARTED) == 2  # one per worker
    assert kinds.count(Kind.ACCESS) == 7  # six lookups and the refused tap (429s: no access)


def _until_both_workers_answered(gateway: Gateway, batch: int = 32) -> list[int]:
    """Concurrent lookups in batches until each worker has answered some (one idle worker may
    otherwise accept every connection); the statuses of all of them."""
    statuses: list[int] = []
    for _ in range(20):
        callers = [
            threading.Thread(target=lambda: statuses.append(_lookup(gateway)[0]))
            for _ in range(batch)
        ]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        answered = _answered_per_worker(gateway)
        if len(answered) == 2 and all(answered.values()):
            return statuses
    raise AssertionError(f"one worker answered everything: {_answered_per_worker(gateway)}")


def _answered_per_worker(gateway: Gateway) -> dict[str, float]:
    """NIK lookups each worker answered, read from its metric file (the test looks inside)."""
    answered: dict[str, float] = {}
    for path in Path(_metrics_dir(gateway)).glob("counter_*.db"):
        answered[path.stem] = sum(
            value
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
            if json.loads(key)[1] == "ktp_gateway_http_requests_total"
            and json.loads(key)[2].get("route") == "/v1/nik-lookups"
        )
    return answered


def _lookups_counted(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ktp_gateway_http_requests_total"
        and sample.labels.get("route") == "/v1/nik-lookups"
    )


def test_every_scrape_counts_the_requests_of_all_workers(
    simulator: Simulator, dsn: str, tmp_path: Path
) -> None:
    env = _shared(
        dsn, KTP_GATEWAY_LIMITS__OFFICER_BURST="1000", KTP_GATEWAY_LIMITS__CLIENT_BURST="1000"
    )
    with Gateway(free_port(), simulator, env, tmp_path / "gw.log", "--workers", "2") as gateway:
        sent = len(_until_both_workers_answered(gateway))
        directory = Path(_metrics_dir(gateway))
        scrapes = [_scrape(gateway) for _ in range(8)]  # each lands on either worker
    assert [_lookups_counted(text) for text in scrapes] == [float(sent)] * 8
    assert "ktp_gateway_build_info" in scrapes[0]  # the scraped worker's own collectors too
    assert not directory.exists()  # the supervisor removed the metric files as it stopped


def _metrics_dir(gateway: Gateway) -> str:
    pid = _workers(gateway)[0]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [value] = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return value.decode()


def _scrape(gateway: Gateway) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/metrics", timeout=10) as answer:
        return str(answer.read().decode())


def test_a_worker_killed_mid_request_loses_no_answered_record_nor_accepted_item(
    simulator: Simulator, dsn: str, tmp_path: Path
) -> None:
    store = {"backend": "postgres", "postgres_dsn": dsn}
    env = outbox_env(simulator, store, **_shared(dsn))
    answered: list[str] = []
    accepted: list[str] = []
    stop = threading.Event()
    with Gateway(free_port(), simulator, env, tmp_path / "gw.log", "--workers", "2") as gateway:

        def load(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                register = f"REG-{n:02d}{i:04d}/LPSK/2026"
                body = {**WHO, "nik": NIK, "nomor_register": register,
                        "nomor_sk_rapat_paripurna": "SK-17/RP/LPSK/05/2026"}  # fmt: skip
                try:
                    status, _ = gateway.call("POST", "/v1/return-data", body)
                except OSError:
                    continue  # the connection died with its worker: not answered
                if status in (200, 202):
                    accepted.append(register)
                    answered.append(register)

        callers = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for caller in callers:
            caller.start()
        time.sleep(1.5)
        victim = _workers(gateway)[0]
        os.kill(victim, signal.SIGKILL)  # mid-request: eight callers keep both workers busy
        time.sleep(1.5)
        stop.set()
        for caller in callers:
            caller.join()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_workers(gateway)) < 2:
            time.sleep(0.1)
        assert len(_workers(gateway)) == 2 and victim not in _workers(gateway)  # replaced
        delivered = _delivered(simulator, set(accepted), deadline=time.monotonic() + 60)
    assert accepted and delivered == set(accepted)
    trail = PostgresTrail(dsn)
    assert verify_trail(trail).intact
    recorded = {
        record.data.get("nomor_register")
        for record in trail.records()
        if record.kind == Kind.ACCESS
    }
    assert set(answered) <= recorded
    print(  # the numbers for the closing note (pytest -s)
        f"\nworkers kill -9: {len(accepted)} items accepted, all delivered; "
        f"{len(recorded)} access records, chain intact"
    )


def _delivered(sim: Simulator, wanted: set[str], *, deadline: float) -> set[str]:
    got: set[str] = set()
    while time.monotonic() < deadline:
        ledger = sim._admin("GET", "returns")
        got = {str(v) for item in ledger["records"] for v in item["param"].values()} & wanted
        if got == wanted:
            break
        time.sleep(0.2)
    return got
