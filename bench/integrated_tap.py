"""One tap on an integrated reader, its time split into the device's and the gateway's.

`python -m bench.integrated_tap [--taps N]`. The integrated-reader emulator on a pty (opened by
the gateway with pyserial), the Dukcapil simulator and the gateway as processes; the card stays
on the reader and every verification asks for the holder's fingerprint, so each tap is the full
conversation (open, put, finger, demography, close). Per tap:

- device: the emulator's own time, each command received to its answer written (a real
  device's card session, SAM and match replace this: seconds, not microseconds);
- serial: the gateway's side of that conversation (pyserial, framing, the read slices) less
  the device's time;
- registry: the Dukcapil simulator as the gateway timed it;
- gateway: the rest of what the caller waited (HTTP, auth, policy, audit, comparison).

Writes bench/results/integrated-tap-<date>-<host>.json; no NIK or name is written.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.stack import UNLIMITED
from bench.stats import record, summary
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.demo import (
    DEMO_ACCOUNTABILITY,
    demo_client,
    gateway_env,
    gateway_process,
    simulator_process,
)
from ktp_gateway_dev.integrated_demo import PROFILE_ID
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from ktp_gateway_dev.stack.processes import free_port

PERSON = "budi"  # a synthetic person
WARMUP = 3


def measure(taps: int) -> dict[str, Any]:
    """`taps` verifications with a fingerprint check on the emulated integrated reader."""
    profile = load_specs().integrated[PROFILE_ID]
    password = secrets.token_urlsafe(12)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-bench-serial-") as tmp:
        root = Path(tmp)
        emulator = IntegratedReaderEmulator(profile, link=root / "ttyACM-bench0")
        stack.callback(emulator.close)
        simulator_port, gateway_port = free_port(), free_port()
        api_key, clients = demo_client(root)
        stack.enter_context(simulator_process(simulator_port, password, root))
        env = gateway_env(
            gateway_port, simulator_port, password, data_dir=root / "data", clients_file=clients
        )
        env |= {
            **UNLIMITED,
            "KTP_GATEWAY_READER__SERIAL_PORTS": json.dumps([str(root / "ttyACM-*")]),
        }
        stack.enter_context(gateway_process(gateway_port, env, root))
        emulator.place(PERSON, finger="match")
        body = {
            **DEMO_ACCOUNTABILITY,
            "reader": f"{profile.models[0]} {emulator.info[1]}",
            "holder_check": "fingerprint",
        }
        parts: dict[str, list[float]] = {
            "client": [], "device": [], "serial": [], "registry": [], "gateway": [],
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{gateway_port}", headers=headers, timeout=60
        ) as client:
            for number in range(WARMUP + taps):
                busy = emulator.busy_seconds
                started = time.perf_counter()
                answer = client.post("/v1/verifications", json=body)
                client_ms = (time.perf_counter() - started) * 1000
                device_ms = (emulator.busy_seconds - busy) * 1000
                if answer.status_code != 200:
                    raise RuntimeError(f"tap failed: {answer.status_code}")
                result = answer.json()
                if result["holder_check"]["result"] != "match":
                    raise RuntimeError("the holder check did not match")
                if number < WARMUP:
                    continue
                timings = result["timings"]
                conversation = timings["wait_for_card_ms"] + timings["card_ms"]
                parts["client"].append(client_ms)
                parts["device"].append(device_ms)
                parts["serial"].append(max(0.0, conversation - device_ms))
                parts["registry"].append(timings["registry_ms"])
                parts["gateway"].append(client_ms - conversation - timings["registry_ms"])
    return {"taps": taps, "ms": {name: summary(values) for name, values in parts.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.integrated_tap", description=__doc__)
    parser.add_argument("--taps", type=int, default=200, help="verifications")
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    args = parser.parse_args(argv)
    result = record(measure(args.taps), "integrated-tap", args.out)
    for part, values in result["ms"].items():
        print(f"{part:<9} median {values['median']:>8} ms  p99 {values['p99']:>8} ms")
    print(f"written: {result['written']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
