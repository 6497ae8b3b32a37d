"""`ktp-gateway doctor` as an operator runs it: a real process, against pcscd, the virtual reader
pair and a Dukcapil simulator process, configured through the environment as the service is.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ktp_gateway.dukcapil_client.credentials import write_secret
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.demo import demo_client
from ktp_gateway_dev.simulators.activation import virtual_records, write_record
from ktp_gateway_dev.simulators.dukcapil.app import RETURN_PATH
from ktp_gateway_dev.simulators.sam import VirtualSam
from ktp_gateway_dev.stack.pcscd import list_readers
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import SECOND_CARD_READER, VirtualReaderPair
from tests.api.conftest import Simulator

USER_ID = "UJICOBA-DOCTOR"
PASSWORD = "sandi-ujicoba-doctor"
RETURN_TOKEN = "token-ujicoba-doctor"
CONSUMER_PATH = "3171/lpsk"


@dataclass(frozen=True, slots=True)
class Run:
    """One doctor run: exit status, what it printed, how long the process took."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def report(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed

    def lines(self, check: str) -> list[dict[str, Any]]:
        return [line for line in self.report["lines"] if line["check"] == check]

    def status(self, check: str) -> str:
        """The status of the check's lines (all the same, or the test says which it wants)."""
        statuses = {str(line["status"]) for line in self.lines(check)}
        assert len(statuses) == 1, (check, self.lines(check))
        return statuses.pop()


@pytest.fixture(scope="session")
def doctor_simulator() -> Iterator[Simulator]:
    port = free_port()
    process = ManagedProcess.python_module(
        "Dukcapil simulator",
        "ktp_gateway_dev.simulators.dukcapil",
        "--port", str(port), "--consumer-path", CONSUMER_PATH,
        ready_url=f"http://127.0.0.1:{port}/_simulator/stats",
        env={
            "DUKCAPIL_SIM_USER_ID": USER_ID,
            "DUKCAPIL_SIM_PASSWORD": PASSWORD,
            "DUKCAPIL_SIM_RETURN_TOKEN": RETURN_TOKEN,
        },
    )  # fmt: skip
    with process:
        yield Simulator(port)


@pytest.fixture
def simulator(doctor_simulator: Simulator) -> Simulator:
    doctor_simulator.admin("reset", {})
    return doctor_simulator


def _activated_serial(card_reader: str) -> bytes:
    """The SAM serial the virtual activation record of this reader names."""
    profile = load_specs().readers["vpcd-virtual"]
    unit = profile.unit_of(card_reader)
    [record] = [r["record"] for r in virtual_records() if r["record"]["reader"]["unit"] == unit]
    return bytes.fromhex(record["sam_serial"])


@pytest.fixture
def every_pair(reader_pair: VirtualReaderPair) -> Iterator[list[VirtualReaderPair]]:
    """The first virtual reader, and the second unit with its own SAM when pcscd offers it:
    a healthy set-up has a SAM in every reader.
    """
    if SECOND_CARD_READER not in list_readers():
        yield [reader_pair]
        return
    sam = VirtualSam.virtual(serial=_activated_serial(SECOND_CARD_READER))
    with VirtualReaderPair.second(sam=sam) as second:
        yield [reader_pair, second]


def _secret(path: Path, value: str) -> Path:
    write_secret(path, value)
    return path


@pytest.fixture
def gateway_env(tmp_path: Path, simulator: Simulator) -> dict[str, str]:
    """A production-shaped configuration: secrets in owner-only files, callers authenticated,
    return data on with a SQLite outbox; wired to the virtual reader and the simulator.
    """
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    state = tmp_path / "state"
    records = [
        write_record(secrets / f"activation-{i}.json", record)
        for i, record in enumerate(virtual_records())
    ]
    _key, clients = demo_client(secrets)
    return {
        "KTP_GATEWAY_ACTIVATION__RECORD_FILES": json.dumps([str(p) for p in records]),
        "KTP_GATEWAY_AUTH__CLIENTS_FILE": str(clients),
        "KTP_GATEWAY_DUKCAPIL__BASE_URL": simulator.base_url,
        "KTP_GATEWAY_DUKCAPIL__CONSUMER_PATH": CONSUMER_PATH,
        "KTP_GATEWAY_DUKCAPIL__USER_ID": USER_ID,
        "KTP_GATEWAY_DUKCAPIL__PASSWORD_FILE": str(_secret(secrets / "password", PASSWORD)),
        "KTP_GATEWAY_DUKCAPIL__IP_USER": "127.0.0.1",
        "KTP_GATEWAY_DUKCAPIL__RETURNS__URL": simulator.base_url + RETURN_PATH,
        "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN_FILE": str(_secret(secrets / "token", RETURN_TOKEN)),
        "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
        "KTP_GATEWAY_RETURN_DATA__SQLITE_PATH": str(state / "return-outbox.sqlite3"),
        "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY_FILE": str(
            _secret(secrets / "outbox.key", base64.b64encode(os.urandom(32)).decode())
        ),
        "KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE),
        "KTP_GATEWAY_AGREEMENT__SUSPENSION_FILE": str(state / "agreement.suspended"),
        "KTP_GATEWAY_AUDIT__DIR": str(state / "audit"),
    }


def run_doctor(env: dict[str, str], *args: str, timeout: float = 60) -> Run:
    """`ktp-gateway doctor ARGS` in its own process, with only these KTP_GATEWAY_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KTP_GATEWAY_")}
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "ktp_gateway.cli", "doctor", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
