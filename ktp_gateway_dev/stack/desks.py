"""Desk agents and their access point as real processes on the virtual stack.

The access point is `ktp-gateway serve` with HTTPS and the desk channel on; each desk is
`ktp-gateway desk`, enrolled first through the two real commands an administrator and an
officer's PC run (`desks enrol NAME` there, `desk enrol --code` here). Every process gets only
its own settings: a desk's environment holds no Dukcapil setting at all.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ktp_gateway_dev.simulators.activation import record_json, virtual_records
from ktp_gateway_dev.stack.pki import ServerPki
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port

CLI = [sys.executable, "-m", "ktp_gateway.cli"]
DESK_ENV_PREFIX = "KTP_GATEWAY_DESK_"


def run_cli(*args: str, env: Mapping[str, str]) -> str:
    """Run one `ktp-gateway` command to completion; its stdout (a failure raises with stderr)."""
    done = subprocess.run(  # noqa: S603 - argv built here
        [*CLI, *args], env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"ktp-gateway {args[0]} {args[1]} failed: {done.stderr.strip()[-400:]}")
    return done.stdout


def clean_env(base: Mapping[str, str]) -> dict[str, str]:
    """`base` without any KTP_GATEWAY_* variable: each process gets only what is meant for it."""
    return {k: v for k, v in base.items() if not k.startswith("KTP_GATEWAY_")}


@dataclass
class AccessPoint:
    """The access point's addresses, its settings (environment) and the trust a desk needs."""

    env: dict[str, str]
    api_port: int
    channel_port: int
    pki: ServerPki
    api_key: str | None = None

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def channel_url(self) -> str:
        return f"wss://127.0.0.1:{self.channel_port}"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca))

    def process(self, log_path: Path | None = None) -> ManagedProcess:
        return ManagedProcess(
            "access point",
            [*CLI, "serve"],
            ready_url=f"{self.api_url}/healthz",
            ready_context=self.client_context(),
            env=self.env,
            inherit_env=False,
            log_path=log_path,
        )

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: dict[str, Any], timeout: float = 60) -> tuple[int, Any]:
        return self.call("POST", path, body, timeout=timeout)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10
    ) -> tuple[int, Any]:
        """One call as the case application makes it (HTTPS, API key); status and JSON body."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            f"{self.api_url}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=timeout, context=self.client_context()
            ) as response:
                return int(response.status), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return int(error.code), json.loads(error.read() or b"null")

    def desk(self, name: str) -> dict[str, Any]:
        status, body = self.get(f"/v1/desks/{name}")
        if status != 200:
            raise RuntimeError(f"GET /v1/desks/{name}: {status} {body}")
        return dict(body)


def access_point(
    gateway_env: Mapping[str, str], pki: ServerPki, data_dir: Path, *, api_port: int = 0
) -> AccessPoint:
    """An access point's settings: the gateway's, plus HTTPS and the desk channel."""
    api_port, channel_port = api_port or free_port(), free_port()
    env = {
        **clean_env(gateway_env),
        **{k: v for k, v in gateway_env.items() if k.startswith("KTP_GATEWAY_")},
        "KTP_GATEWAY_API__PORT": str(api_port),
        "KTP_GATEWAY_API__TLS_CERT_FILE": str(pki.cert),
        "KTP_GATEWAY_API__TLS_KEY_FILE": str(pki.key),
        "KTP_GATEWAY_DESKS__ENABLED": "true",
        "KTP_GATEWAY_DESKS__PORT": str(channel_port),
        "KTP_GATEWAY_DESKS__DIR": str(data_dir / "desks"),
        "KTP_GATEWAY_DESKS__HEARTBEAT_SECONDS": "1",
        # the stack's own polling of GET /v1/desks must not meet the abuse limits
        "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "6000",
        "KTP_GATEWAY_LIMITS__CLIENT_BURST": "600",
    }
    return AccessPoint(env=env, api_port=api_port, channel_port=channel_port, pki=pki)


@dataclass
class Desk:
    """One desk agent: its name, its own directory, the readers it serves."""

    name: str
    directory: Path
    readers: list[str]
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. its own HOME and TMPDIR
    cwd: Path | None = None

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        return {
            **clean_env(base),
            **self.extra_env,
            f"{DESK_ENV_PREFIX}DIR": str(self.directory),
            f"{DESK_ENV_PREFIX}READERS": json.dumps(self.readers),
            # the virtual readers' signed activation records (test-only values)
            f"{DESK_ENV_PREFIX}ACTIVATION__RECORD": record_json(virtual_records()),
            f"{DESK_ENV_PREFIX}RECONNECT_MIN_SECONDS": "0.2",
            f"{DESK_ENV_PREFIX}RECONNECT_MAX_SECONDS": "1",
            f"{DESK_ENV_PREFIX}LOG__JSON_OUTPUT": "true",
        }

    def enrol(self, point: AccessPoint, base: Mapping[str, str]) -> None:
        """The administrator's `desks enrol` on the access point, then `desk enrol` here."""
        code = json.loads(run_cli("desks", "enrol", self.name, "--json", env=point.env))["code"]
        run_cli(
            "desk", "enrol",
            "--access-point", point.channel_url,
            "--code", code,
            "--server-ca", str(point.pki.ca),
            "--dir", str(self.directory),
            env=self.env(base),
        )  # fmt: skip

    def process(
        self, point: AccessPoint, base: Mapping[str, str], log_path: Path | None = None
    ) -> ManagedProcess:
        """`ktp-gateway desk`, ready once the access point lists it connected."""

        def connected() -> bool:
            try:
                return bool(point.desk(self.name)["connected"])
            except (RuntimeError, OSError):
                return False

        return ManagedProcess(
            f"desk {self.name}",
            [*CLI, "desk"],
            ready=connected,
            env=self.env(base),
            inherit_env=False,
            log_path=log_path,
            cwd=self.cwd,
        )
