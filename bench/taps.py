"""Parts 1-3: where a tap's time goes, its APDU economy, and its projection onto a real reader.

Taps go through the gateway process as the case application calls it (POST /v1/verifications,
the card left on the reader). After each tap the gateway's /metrics is read: the difference in
`ktp_gateway_apdu_duration_seconds` (fed from the reader layer's per-APDU samples) is that tap's
time in card I/O and in the SAM, by instruction. Dukcapil's share is the registry time the gateway
reports; the gateway's own overhead is the rest. One more tap through the gateway's own read
path in this process records the APDU sequence (sizes, never data) for the economy and the
projection.
"""

from __future__ import annotations

import json
import time
from contextlib import closing
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.floor import compute_floor, economy
from bench.http_load import KeptConnection, Target
from bench.radio import project
from bench.sequence import TapSequence, record_tap, virtual_activations
from bench.stack import SAM_HOLD_SECONDS, BenchStack
from bench.stats import summary
from ktp_gateway.reader.smartcard.pairs import find_pairs
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway.specs import CardProfile, SamProfile, load_specs
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY

APDU_METRIC = "ktp_gateway_apdu_duration_seconds"
PERSON = "budi"  # a synthetic person (simulators/data/synthetic_people.yaml)


def _apdu_totals(client: httpx.Client) -> dict[tuple[str, str], tuple[float, float]]:
    """(device, ins) -> (count, seconds) from the gateway's APDU histogram."""
    totals: dict[tuple[str, str], list[float]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name != APDU_METRIC:
            continue
        for sample in family.samples:
            key = (sample.labels["device"], sample.labels["ins"])
            if sample.name.endswith("_count"):
                totals.setdefault(key, [0.0, 0.0])[0] = sample.value
            elif sample.name.endswith("_sum"):
                totals.setdefault(key, [0.0, 0.0])[1] = sample.value
    return {key: (value[0], value[1]) for key, value in totals.items()}


def _delta(
    after: dict[tuple[str, str], tuple[float, float]],
    before: dict[tuple[str, str], tuple[float, float]],
) -> dict[tuple[str, str], tuple[int, float]]:
    return {
        key: (round(count - before.get(key, (0, 0))[0]), seconds - before.get(key, (0, 0))[1])
        for key, (count, seconds) in after.items()
    }


def _one_tap(wire: KeptConnection) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    status, body = wire.call()
    elapsed_ms = (time.perf_counter() - started) * 1000
    answer: dict[str, Any] = json.loads(body)
    if status != 200:
        raise RuntimeError(f"verification failed: {status} {answer.get('code')}")
    return elapsed_ms, answer


def tap_breakdown(stack: BenchStack, taps: int, latency_ms: int) -> dict[str, Any]:
    """`taps` verifications of one card at a fixed simulator latency, each split into parts."""
    stack.set_latency(latency_ms)
    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "client_ms", "gateway_total_ms", "card_read_ms", "card_io_ms", "sam_ms",
            "dukcapil_ms", "reader_host_ms", "gateway_overhead_ms",
        )
    }  # fmt: skip
    apdus: dict[str, dict[str, int]] = {}
    body = {**DEMO_ACCOUNTABILITY, "wait_seconds": 5}
    # The taps go through the lean client, as part 4's requests do; /metrics through httpx.
    tap = Target.post(f"{stack.gateway_url}/v1/verifications", body, stack.auth)
    with (
        closing(KeptConnection(tap)) as wire,
        httpx.Client(base_url=stack.gateway_url, headers=stack.auth, timeout=60) as client,
    ):
        _one_tap(wire)  # warm-up: imports, first connections
        before = _apdu_totals(client)
        for _ in range(taps):
            client_ms, answer = _one_tap(wire)
            after = _apdu_totals(client)
            delta, before = _delta(after, before), after
            card_io = 1000 * sum(s for (device, _), (_, s) in delta.items() if device == "card")
            sam = 1000 * sum(s for (device, _), (_, s) in delta.items() if device == "sam")
            timings = answer["timings"]
            samples["client_ms"].append(client_ms)
            samples["gateway_total_ms"].append(timings["total_ms"])
            samples["card_read_ms"].append(timings["card_ms"])
            samples["card_io_ms"].append(card_io)
            samples["sam_ms"].append(sam)
            samples["dukcapil_ms"].append(timings["registry_ms"])
            samples["reader_host_ms"].append(timings["card_ms"] - card_io - sam)
            samples["gateway_overhead_ms"].append(
                client_ms - card_io - sam - timings["registry_ms"]
            )
            apdus = {
                device: {ins: n for (d, ins), (n, _) in delta.items() if d == device and n}
                for device in ("card", "sam")
            }
    return {
        "taps": taps,
        "client": "bench.http_load.KeptConnection",
        "dukcapil_latency_ms": latency_ms,
        "ms": {name: summary(values) for name, values in samples.items()},
        "apdus_by_ins": apdus,
    }


def recorded_sequence(stack: BenchStack) -> tuple[TapSequence, CardProfile, SamProfile]:
    """One tap through the gateway's read path in this process, every APDU recorded."""
    specs = load_specs()
    with PcscContext() as context:
        pair = next(
            p
            for p in find_pairs(context.list_readers(), specs)
            if p.card_reader == stack.pairs[0].card_reader
        )
        # The gateway lets its held SAM go once part 1's last tap is SAM_HOLD_SECONDS old.
        deadline = time.monotonic() + SAM_HOLD_SECONDS + 3.0
        while time.monotonic() < deadline:
            if not any(s.in_use for s in context.statuses([pair.sam_reader])):
                break
            time.sleep(0.1)
    sequence = record_tap(pair, specs, virtual_activations(specs))
    return sequence, specs.card_for(pair.profile), specs.sam_for(pair.profile)


def sequence_report(sequence: TapSequence, card: CardProfile, sam: SamProfile) -> dict[str, Any]:
    """The per-tap APDU counts, bytes per EF, the economy and the projection."""
    measured = {"card": sequence.by_ins("card"), "sam": sequence.by_ins("sam")}
    floor = compute_floor(card, sam, sequence.file_bytes)
    result = economy(measured, floor)
    round_trips = [e.seconds * 1000 for e in sequence.exchanges]
    return {
        **result,
        "apdus_by_ins": measured,
        "bytes_read_per_file": sequence.file_bytes,
        "reads_per_file": sequence.file_reads,
        "bytes_on_the_wire": {
            device: {
                "sent": sum(e.command_bytes for e in sequence.exchanges if e.device == device),
                "received": sum(e.response_bytes for e in sequence.exchanges if e.device == device),
            }
            for device in ("card", "sam")
        },
        "virtual_round_trip_ms": summary(round_trips, 3),
        "projection": project(sequence.exchanges, result["surplus_by_ins"]),  # type: ignore[arg-type]
    }


def run_taps(stack: BenchStack, taps: int, latencies: tuple[int, ...]) -> dict[str, Any]:
    """Parts 1-3 on a running pcsc stack with a card on the first reader."""
    stack.pairs[0].place(PERSON)
    try:
        breakdown = [tap_breakdown(stack, taps, latency) for latency in latencies]
        stack.set_latency(0)
        report = sequence_report(*recorded_sequence(stack))
    finally:
        stack.pairs[0].remove()
    gateway_apdus = breakdown[0]["apdus_by_ins"]
    report["matches_gateway_taps"] = gateway_apdus == report["apdus_by_ins"]
    return {"breakdown": breakdown, "sequence": report}
