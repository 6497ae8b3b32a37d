"""One real gateway process, two client applications of different grants, the Dukcapil
simulator and the data balikan outbox: the set-up the API isolation findings were made on."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ktp_gateway.dukcapil_client.credentials import write_secret
from ktp_gateway_dev.demo import gateway_env
from ktp_gateway_dev.simulators.dukcapil.app import RETURN_PATH
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from tests.api.callers import make_key, write_clients

ACCOUNTABLE = {"officer_id": "PETUGAS-UJI-01", "purpose": "perlindungan_saksi"}
RETURN_TOKEN = "token-ujicoba-isolasi"
BUDI = "3171011505809901"  # synthetic (the test population)


@dataclass
class Gateway:
    """The running gateway and the two clients' keys."""

    url: str
    keys: dict[str, str]  # client name -> its API key
    audit_dir: Path
    log: Path
    port: int

    def call(
        self,
        method: str,
        path: str,
        client: str | None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        sent = dict(headers or {})
        if client is not None:
            sent["Authorization"] = f"Bearer {self.keys[client]}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            self.url + path, data=data, method=method, headers=sent
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                raw = answer.read()
                return answer.status, _json(raw), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), dict(error.headers)

    def audit(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.audit_dir.glob("*.jsonl")):
            records += [json.loads(line) for line in path.read_text().splitlines() if line]
        return records

    def raw(self, payload: bytes) -> None:
        """Send bytes on a fresh connection and hang up (a client gone mid-request)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(payload)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _secret(path: Path, value: str) -> Path:
    write_secret(path, value)
    return path


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("isolation")
    secret_dir = root / "secrets"
    secret_dir.mkdir(mode=0o700)
    full, narrow, operator = make_key(), make_key(), make_key()
    clients = write_clients(
        secret_dir / "clients.yaml",
        [
            {"name": "lpsk-case-app", "keys": [full[1]]},
            {"name": "lpsk-intake", "keys": [narrow[1]], "fields": ["nik", "nama_lengkap"]},
            {"name": "lpsk-ops", "keys": [operator[1]], "outbox_operator": True},
        ],
    )
    password = secrets.token_urlsafe(12)
    simulator_port, port = free_port(), free_port()
    env = gateway_env(port, simulator_port, password, data_dir=root / "data", clients_file=clients)
    outbox_key = base64.b64encode(os.urandom(32)).decode()
    env |= {
        "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
        "KTP_GATEWAY_RETURN_DATA__SQLITE_PATH": str(root / "data" / "outbox.sqlite3"),
        "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY_FILE": str(
            _secret(secret_dir / "outbox.key", outbox_key)
        ),
        "KTP_GATEWAY_DUKCAPIL__RETURNS__URL": f"http://127.0.0.1:{simulator_port}{RETURN_PATH}",
        "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN_FILE": str(
            _secret(secret_dir / "return.token", RETURN_TOKEN)
        ),
        "KTP_GATEWAY_API__REQUEST_READ_TIMEOUT_SECONDS": "1",
        "KTP_GATEWAY_API__MAX_EVENT_STREAMS_PER_CLIENT": "2",
        "KTP_GATEWAY_RETURN_DATA__MAX_ATTEMPTS": "1",
        "KTP_GATEWAY_JOBS__MAX_JOBS": "6",
        "KTP_GATEWAY_JOBS__MAX_JOBS_PER_CLIENT": "3",
        "KTP_GATEWAY_JOBS__RESULT_TTL_SECONDS": "60",
        "KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE": "100000",
        "KTP_GATEWAY_LIMITS__OFFICER_BURST": "100000",
        "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "100000",
        "KTP_GATEWAY_LIMITS__CLIENT_BURST": "100000",
    }
    log = root / "gateway.log"
    simulator = ManagedProcess.python_module(
        "Dukcapil simulator",
        "ktp_gateway_dev.simulators.dukcapil",
        "--host", "127.0.0.1", "--port", str(simulator_port), "--consumer-path", "demo/lpsk",
        ready_url=f"http://127.0.0.1:{simulator_port}/_simulator/stats",
        env={
            "DUKCAPIL_SIM_USER_ID": "DEMO-LPSK-01",
            "DUKCAPIL_SIM_PASSWORD": password,
            # Not the gateway's: every delivery is refused, so items stay (dead after one try)
            # for the tests to look at and retry.
            "DUKCAPIL_SIM_RETURN_TOKEN": RETURN_TOKEN + "-lain",
        },
        log_path=root / "simulator.log",
    )  # fmt: skip
    server = ManagedProcess.python_module(
        "gateway",
        "ktp_gateway.cli",
        "serve",
        ready_url=f"http://127.0.0.1:{port}/healthz",
        env=env,
        log_path=log,
    )
    with simulator, server:
        yield Gateway(
            url=f"http://127.0.0.1:{port}",
            keys={"lpsk-case-app": full[0], "lpsk-intake": narrow[0], "lpsk-ops": operator[0]},
            audit_dir=root / "data" / "audit",
            log=log,
            port=port,
        )
