"""Part 6: taps per second with one reader pair, and with two in parallel.

Each reader pair gets its own client thread calling POST /v1/verifications for that reader in a
closed loop; the taps the gateway answered in the window, over the window, is the rate. Needs the
second virtual reader unit (ktp_gateway_dev/stack: "Virtual PCD 2", ports 35965/35966); without it
the part reports that it was skipped.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from bench.stack import BenchStack
from bench.stats import cpu_seconds
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

PEOPLE = ("budi", "siti")  # synthetic people (simulators/data/synthetic_people.yaml)
SKIPPED = "skipped: one reader unit on this stack"


def _tapper(
    stack: BenchStack, pair: VirtualReaderPair, deadline: float, counts: list[int], index: int
) -> None:
    body = {**DEMO_ACCOUNTABILITY, "wait_seconds": 5, "reader": pair.card_reader}
    with httpx.Client(base_url=stack.gateway_url, headers=stack.auth, timeout=60) as client:
        client.post("/v1/verifications", json=body)  # warm-up
        counts[index] = 0
        while time.perf_counter() < deadline:
            answer = client.post("/v1/verifications", json=body)
            if answer.status_code != 200:
                raise RuntimeError(f"tap failed: {answer.status_code} {answer.json().get('code')}")
            counts[index] += 1


def _taps_per_second(
    stack: BenchStack, pairs: list[VirtualReaderPair], seconds: float
) -> tuple[float, float]:
    """Taps per second, and the gateway's CPU milliseconds per tap, over the window."""
    counts = [0] * len(pairs)
    cpu_before = cpu_seconds(stack.gateway_pid)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_tapper, args=(stack, pair, started + seconds, counts, i))
        for i, pair in enumerate(pairs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(stack.gateway_pid) - cpu_before
    taps = max(sum(counts), 1)
    return taps / elapsed, 1000 * cpu / taps


def run_readers(stack: BenchStack, seconds: float) -> dict[str, Any]:
    """Taps per second with 1 and with 2 reader pairs, or why it was skipped."""
    if not stack.second_unit or len(stack.pairs) < 2:
        return {"skipped": SKIPPED}
    stack.set_latency(0)
    for pair, person in zip(stack.pairs, PEOPLE, strict=False):
        pair.place(person)
    try:
        one, one_cpu = _taps_per_second(stack, stack.pairs[:1], seconds)
        two, two_cpu = _taps_per_second(stack, stack.pairs[:2], seconds)
    finally:
        for pair in stack.pairs:
            pair.remove()
    return {
        "seconds": seconds,
        "rps": {"1_reader": round(one, 1), "2_readers": round(two, 1)},
        "scaling": round(two / one, 2) if one else None,
        "gateway_cpu_ms_per_tap": {"1_reader": round(one_cpu, 2), "2_readers": round(two_cpu, 2)},
    }
