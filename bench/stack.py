"""The processes a benchmark runs against, as real processes, stopped on exit.

`bench_stack(pcsc=True)` is the demo's stack (pcscd with the virtual readers, the virtual SAMs
and card in this process, the Dukcapil simulator, the gateway), holding the machine-wide virtual
readers lock while it lasts. `bench_stack(pcsc=False)` is the registry path only: the gateway is
cut off from PC/SC (its pcsc-lite client points at a socket nobody serves, the reader monitor is
off), so REST load neither needs the lock nor touches readers other engineers' tests are using.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ktp_gateway_dev.demo import DEMO_CONSUMER_PATH, DEMO_USER_ID, demo_client, gateway_env
from ktp_gateway_dev.stack.pcscd import PcscdService, list_readers
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import SECOND_CARD_READER, SECOND_SAM_READER, VirtualReaderPair

# One officer and one client far over the production rate limits, by design.
UNLIMITED = {
    "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "100000000",
    "KTP_GATEWAY_LIMITS__CLIENT_BURST": "10000000",
    "KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE": "100000000",
    "KTP_GATEWAY_LIMITS__OFFICER_BURST": "10000000",
}
# The gateway holds a reader's SAM open between taps (reader.sam_hold_seconds, 30 by default);
# back-to-back taps see the same either way, and a 2 s hold lets part 2 record its own tap
# (through the SAM slot, which the gateway holds alone) soon after part 1.
SHORT_SAM_HOLD = {"KTP_GATEWAY_READER__SAM_HOLD_SECONDS": "2"}
SAM_HOLD_SECONDS = 2.0
NO_PCSC = {
    "PCSCLITE_CSOCK_NAME": "/nonexistent/ktp-gateway-bench/pcscd.comm",
    "KTP_GATEWAY_READER__MONITOR": "false",
}


@dataclass
class BenchStack:
    """Addresses, pids and the per-run credentials of a running stack."""

    gateway_url: str
    gateway_pid: int
    simulator_url: str
    simulator_pid: int
    api_key: str
    password: str
    pairs: list[VirtualReaderPair] = field(default_factory=list)
    second_unit: bool = False

    def gateway_pids(self) -> list[int]:
        """The gateway's process and its children (the workers of `serve --workers N`)."""
        pids = [self.gateway_pid]
        for task in Path(f"/proc/{self.gateway_pid}/task").glob("*/children"):
            pids += [int(pid) for pid in task.read_text().split()]
        return pids

    def worker_pids(self) -> list[int]:
        """The workers alone (not multiprocessing's resource tracker, also a child)."""
        return [pid for pid in self.gateway_pids()[1:] if b"resource_tracker" not in _cmdline(pid)]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def call_nik_url(self) -> str:
        return f"{self.simulator_url}/dukcapil/get_json/{DEMO_CONSUMER_PATH}/CALL_NIK"

    def set_latency(self, milliseconds: int) -> None:
        """The simulator's fixed delay before each CALL_NIK answer (its runtime knob)."""
        answer = httpx.post(
            f"{self.simulator_url}/_simulator/config", json={"latency_ms": milliseconds}
        )
        answer.raise_for_status()


def _pid(process: ManagedProcess) -> int:
    if process.process is None:
        raise RuntimeError(f"{process.name} is not running")
    return process.process.pid


def _second_unit_served() -> bool:
    """True when pcscd lists the second virtual reader unit (ktp_gateway_dev/stack/pcscd.py)."""
    return {SECOND_CARD_READER, SECOND_SAM_READER} <= set(list_readers())


@contextmanager
def bench_stack(
    *, pcsc: bool, two_units: bool = False, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[BenchStack]:
    """Start what the benchmark needs; `two_units` also inserts the second unit's SAM if served;
    `workers` and `env` are passed to `serve` (several workers need the shared state's env)."""
    password = secrets.token_urlsafe(16)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-bench-") as tmp:
        work = Path(tmp)
        pairs: list[VirtualReaderPair] = []
        second = False
        if pcsc:
            stack.enter_context(PcscdService(log_path=work / "pcscd.log"))
            pairs.append(stack.enter_context(VirtualReaderPair()))
            if two_units and _second_unit_served():
                pairs.append(stack.enter_context(VirtualReaderPair.second()))
                second = True
        simulator_port, gateway_port = free_port(), free_port()
        api_key, clients_file = demo_client(work)
        argv = ["--host", "127.0.0.1", "--port", str(simulator_port)]
        simulator = stack.enter_context(
            ManagedProcess.python_module(
                "Dukcapil simulator",
                "ktp_gateway_dev.simulators.dukcapil",
                *argv,
                "--consumer-path",
                DEMO_CONSUMER_PATH,
                ready_url=f"http://127.0.0.1:{simulator_port}/_simulator/stats",
                env={"DUKCAPIL_SIM_USER_ID": DEMO_USER_ID, "DUKCAPIL_SIM_PASSWORD": password},
                log_path=work / "dukcapil-simulator.log",
            )
        )
        data = work / "data"
        gateway = gateway_env(
            gateway_port, simulator_port, password, data_dir=data, clients_file=clients_file
        )
        process = stack.enter_context(
            ManagedProcess.python_module(
                "gateway",
                "ktp_gateway.cli",
                "serve",
                *(["--workers", str(workers)] if workers != 1 else []),
                ready_url=f"http://127.0.0.1:{gateway_port}/healthz",
                env={
                    **gateway,
                    **UNLIMITED,
                    **(SHORT_SAM_HOLD if pcsc else NO_PCSC),
                    **(env or {}),
                },
                log_path=work / "gateway.log",
            )
        )
        yield BenchStack(
            gateway_url=f"http://127.0.0.1:{gateway_port}",
            gateway_pid=_pid(process),
            simulator_url=f"http://127.0.0.1:{simulator_port}",
            simulator_pid=_pid(simulator),
            api_key=api_key,
            password=password,
            pairs=pairs,
            second_unit=second,
        )


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # exited meanwhile
        return b""
