"""The systemd unit: `systemd-analyze verify` accepts it without a word, it carries the
hardening the install guide promises, and the gateway serves a verification under the kernel's
own memory-deny-write-execute (what MemoryDenyWriteExecute=yes asks of it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.config.doc import markdown
from ktp_gateway.doctor.cli import read_env_file
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, demo_client, gateway_env, post_json
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNIT = DEPLOY / "ktp-gateway.service"
DESK_UNIT = DEPLOY / "ktp-gateway-desk.service"
INSTALLED_BINARY = "/opt/ktp-gateway/.venv/bin/ktp-gateway"
HARDENING = [
    "User=ktp-gateway",
    "NoNewPrivileges=yes",
    "PrivateTmp=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "ReadWritePaths=/var/lib/ktp-gateway",
    "LimitCORE=0",
    "MemoryDenyWriteExecute=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "CapabilityBoundingSet=",
    "SystemCallFilter=@system-service",
    "UMask=0077",
    "Restart=on-failure",
    "Environment=KTP_GATEWAY_LOG__JSON_OUTPUT=true",
]
# The kernel's MDWE (Linux >= 6.3), as systemd's seccomp filter would refuse W+X mappings.
MDWE_WRAPPER = """
import ctypes, runpy, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(f"PR_SET_MDWE failed: errno {ctypes.get_errno()}")
sys.argv = ["ktp-gateway", "serve"]
runpy.run_module("ktp_gateway.cli", run_name="__main__")
"""


@pytest.mark.parametrize("name", [UNIT.name, DESK_UNIT.name])
def test_the_unit_verifies_cleanly(tmp_path: Path, name: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: run scripts/setup.sh --test")
    # verify insists that ExecStart exists: point it at this checkout's entry point.
    here = Path(sys.executable).parent / "ktp-gateway"
    unit = tmp_path / name
    unit.write_text((DEPLOY / name).read_text().replace(INSTALLED_BINARY, str(here)))
    done = subprocess.run(  # noqa: S603 - fixed tool, our file
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_carries_the_promised_hardening() -> None:
    lines = {line.strip() for line in UNIT.read_text().splitlines()}
    assert [d for d in HARDENING if d not in lines] == []
    assert f"ExecStart={INSTALLED_BINARY} serve" in lines


def test_the_desk_unit_is_as_hardened_and_runs_only_the_agent() -> None:
    lines = {line.strip() for line in DESK_UNIT.read_text().splitlines()}
    desk = [
        d.replace("ktp-gateway", "ktp-gateway-desk").replace("KTP_GATEWAY_", "KTP_GATEWAY_DESK_")
        for d in HARDENING
    ]
    assert [d for d in desk if d not in lines] == []
    assert f"ExecStart={INSTALLED_BINARY} desk" in lines
    assert not any("DUKCAPIL" in line for line in lines)


def test_the_env_example_names_only_real_settings() -> None:
    values = read_env_file(DEPLOY / "ktp-gateway.env.example")
    documented = markdown()
    assert values and [k for k in values if f"`{k}`" not in documented] == []
    assert values["KTP_GATEWAY_ACTIVATION__RECORD_FILES"].startswith('["/etc/')


@pytest.fixture
def simulator_port() -> Iterator[int]:
    port = free_port()
    with ManagedProcess.python_module(
        "Dukcapil simulator",
        "ktp_gateway_dev.simulators.dukcapil",
        "--port", str(port), "--consumer-path", "demo/lpsk",
        ready_url=f"http://127.0.0.1:{port}/_simulator/stats",
        env={"DUKCAPIL_SIM_USER_ID": "DEMO-LPSK-01", "DUKCAPIL_SIM_PASSWORD": "sandi-mdwe"},
    ):  # fmt: skip
        yield port


def _kernel_has_mdwe() -> bool:
    """PR_GET_MDWE answers on Linux >= 6.3; older kernels (bookworm's 6.1) refuse it."""
    import ctypes

    return int(ctypes.CDLL(None, use_errno=True).prctl(66, 0, 0, 0, 0)) >= 0


@pytest.mark.pcsc
def test_the_gateway_serves_a_verification_under_memory_deny_write_execute(
    pcscd_service: PcscdService,
    reader_pair: VirtualReaderPair,
    simulator_port: int,
    tmp_path: Path,
) -> None:
    if not _kernel_has_mdwe():
        # A kernel feature, not a package setup.sh could install: systemd still enforces the
        # directive there (with seccomp); only this in-process stand-in for it is unavailable.
        pytest.skip("this kernel has no PR_SET_MDWE (Linux >= 6.3) to stand in for systemd")
    port = free_port()
    key, clients = demo_client(tmp_path)
    env = gateway_env(
        port, simulator_port, "sandi-mdwe", data_dir=tmp_path / "data", clients_file=clients
    )
    gateway = ManagedProcess(
        "gateway under MDWE",
        [sys.executable, "-c", MDWE_WRAPPER],
        ready_url=f"http://127.0.0.1:{port}/healthz",
        env=env,
        log_path=tmp_path / "gateway.log",
    )
    reader_pair.place("budi")
    with gateway:
        status, body = post_json(
            f"http://127.0.0.1:{port}/v1/verifications",
            {**DEMO_ACCOUNTABILITY, "wait_seconds": 5},
            api_key=key,
        )
    assert (status, body.get("outcome")) == (200, "verified"), body
