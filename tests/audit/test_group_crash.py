"""SIGKILL under load: every access the gateway answered is in the trail, and the chain verifies.

Group commit answers a request only after the batch holding its record is fsync'd; this kills
the real gateway process while many callers are mid-request and reads the trail it left.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY
from ktp_gateway_dev.stack.processes import free_port
from tests.dukcapil.conftest import CONSUMER_PATH, USER_ID, Simulator, start_simulator
from tests.returns.gateway import Gateway

BUDI = "3171011505809901"  # synthetic (simulators/data/synthetic_people.yaml)
UNKNOWN = "3171011505809998"  # synthetic, not in the population: answered 404, recorded too
CALLERS = 24
UNLIMITED = {
    "KTP_GATEWAY_LIMITS__CLIENT_BURST": "100000",
    "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "1000000",
    "KTP_GATEWAY_LIMITS__OFFICER_BURST": "100000",
    "KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE": "1000000",
}


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    sim.stop()


def _lookup(port: int, nik: str) -> tuple[int, str | None]:
    body = json.dumps({**DEMO_ACCOUNTABILITY, "nik": nik}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/nik-lookups",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
            return int(response.status), response.headers.get("X-Request-ID")
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code), error.headers.get("X-Request-ID")


def test_sigkill_under_load_loses_no_answered_access_record(
    simulator: Simulator, tmp_path: Path
) -> None:
    audit = tmp_path / "audit"
    env = {
        "KTP_GATEWAY_AUDIT__DIR": str(audit),
        "KTP_GATEWAY_DUKCAPIL__CONSUMER_PATH": CONSUMER_PATH,
        "KTP_GATEWAY_DUKCAPIL__USER_ID": USER_ID,
        **UNLIMITED,
    }
    port = free_port()
    answered: list[tuple[int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def caller(n: int) -> None:
        nik = UNKNOWN if n % 4 == 0 else BUDI
        while not stop.is_set():
            try:
                status, request_id = _lookup(port, nik)
            except (OSError, urllib.error.URLError):
                return  # the process is gone: this request was never answered
            assert request_id is not None
            with lock:
                answered.append((status, request_id))

    with Gateway(port, simulator, env, tmp_path / "gateway.log") as gateway:
        threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        gateway.kill()  # mid-load: callers are waiting on records not yet durable
        stop.set()
        for thread in threads:
            thread.join(15)
    statuses = {status for status, _ in answered}
    assert len(answered) >= 300 and statuses <= {200, 404}, statuses
    recorded = {
        record.data.get("request_id")
        for record in AuditTrail(audit).records()
        if record.kind is Kind.ACCESS
    }
    missing = [request_id for _, request_id in answered if request_id not in recorded]
    assert not missing, f"{len(missing)} answered accesses have no record"
    verify = subprocess.run(
        [sys.executable, "-m", "ktp_gateway.cli", "audit", "verify"],
        env={"KTP_GATEWAY_AUDIT__DIR": str(audit), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(  # the numbers for the closing note (pytest -s)
        f"\naudit crash: {len(answered)} answered before SIGKILL, all recorded; "
        f"{len(recorded) - len(answered)} more recorded but never answered; chain verifies"
    )
