"""The desk hop: a tap through a desk agent against a tap on the access point's own reader.

`python -m bench.desk_hop [--taps N]`. One run, one machine, one pcscd: the access point
(HTTPS, the desk channel on) reads the first virtual reader unit itself; a desk agent, enrolled
through the real commands, serves the second. Each verification leaves the card on its reader
(no wait), so the difference of the medians is what the hop adds: the tap request over the
WebSocket, the desk's signing, the reading back and the access point's checks (issue 14's
target: at most 5 ms median on loopback). Writes bench/results/desk-hop-<date>-<host>.json;
no NIK or name is written.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.stats import record, summary
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, demo_client, gateway_env, simulator_process
from ktp_gateway_dev.stack.desks import Desk, access_point
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.pki import dev_server_pki
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

PERSON = "budi"  # a synthetic person
WARMUP = 3


def _taps(client: httpx.Client, body: dict[str, Any], count: int) -> list[float]:
    samples = []
    for number in range(WARMUP + count):
        started = time.perf_counter()
        answer = client.post("/v1/verifications", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"tap failed: {answer.status_code} {answer.json().get('code')}")
        if number >= WARMUP:
            samples.append(elapsed)
    return samples


def measure(taps: int) -> dict[str, Any]:
    """`taps` verifications on the access point's reader and as many through a desk, alternating
    blocks so that a drift of the machine's load hits both alike."""
    password = secrets.token_urlsafe(12)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-bench-desk-") as tmp:
        root = Path(tmp)
        stack.enter_context(PcscdService(log_path=root / "pcscd.log"))
        own = stack.enter_context(VirtualReaderPair())
        remote = stack.enter_context(VirtualReaderPair.second())
        simulator_port = free_port()
        api_key, clients = demo_client(root)
        stack.enter_context(simulator_process(simulator_port, password, root))
        base = gateway_env(0, simulator_port, password, data_dir=root / "ap", clients_file=clients)
        point = access_point(base, dev_server_pki(root / "pki"), root / "ap")
        point.env["KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE"] = "100000"
        point.env["KTP_GATEWAY_LIMITS__OFFICER_BURST"] = "100000"
        point.api_key = api_key
        stack.enter_context(point.process(root / "access-point.log"))
        desk = Desk("meja-1", root / "meja-1", [remote.card_reader])
        desk.enrol(point, os.environ)
        stack.enter_context(desk.process(point, os.environ, root / "meja-1.log"))
        own.place(PERSON)
        remote.place(PERSON)
        local_body = {**DEMO_ACCOUNTABILITY, "reader": own.card_reader}
        desk_body = {**DEMO_ACCOUNTABILITY, "desk": "meja-1", "reader": remote.card_reader}
        local: list[float] = []
        hop: list[float] = []
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(
            base_url=point.api_url, headers=headers, verify=point.client_context(), timeout=60
        ) as client:
            block = max(1, taps // 10)
            while len(local) < taps:
                local += _taps(client, local_body, min(block, taps - len(local)))
                hop += _taps(client, desk_body, min(block, taps - len(hop)))
    difference = statistics.median(hop) - statistics.median(local)
    return {
        "taps": taps,
        "local_ms": summary(local),
        "desk_ms": summary(hop),
        "hop_median_ms": round(difference, 2),
        "target_ms": 5.0,
        "met": difference <= 5.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.desk_hop", description=__doc__)
    parser.add_argument("--taps", type=int, default=200, help="verifications per path")
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    args = parser.parse_args(argv)
    result = record(measure(args.taps), "desk-hop", args.out)
    local, desk = result["local_ms"], result["desk_ms"]
    print(f"tap on the access point's reader  median {local['median']} ms  p99 {local['p99']} ms")
    print(f"tap through a desk agent          median {desk['median']} ms  p99 {desk['p99']} ms")
    print(f"the desk hop adds {result['hop_median_ms']} ms median (target <= 5 ms)")
    print(f"written: {result['written']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
