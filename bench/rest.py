"""Parts 4-5: REST throughput, latency and CPU per request, and the gateway's resident memory.

NIK lookups and claims verifications through the gateway, and CALL_NIK straight to the simulator
with the same client in the same run, at each concurrency. CPU per request is the gateway's
own (utime + stime from /proc/<pid>/stat) over the requests of the window; the simulator's and
this client's are recorded beside it, since all three share the machine's cores.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.http_load import LoadResult, Target, load
from bench.stack import BenchStack
from bench.stats import cpu_seconds, percentile, rss_bytes
from ktp_gateway.dukcapil_client.wire import KeyStyle, NikRequest
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, DEMO_USER_ID
from ktp_gateway_dev.simulators.population import load_population

PERSON = "budi"  # a synthetic person (simulators/data/synthetic_people.yaml)
MEMORY_CONCURRENCY = 8


def targets(stack: BenchStack) -> dict[str, Target]:
    """The three endpoints the client calls, bodies built from the synthetic population."""
    record = load_population().by_key(PERSON).registry_record()
    nik = record.nik
    claims = {
        "nama_lengkap": record.nama_lgkp.title(),
        "tempat_lahir": record.tmpt_lhr.title(),
        "tanggal_lahir": record.tgl_lhr,
    }
    direct = NikRequest(
        nik=nik,
        user_id=DEMO_USER_ID,
        password=stack.password,  # type: ignore[arg-type]
        ip_user="127.0.0.1",
    ).to_wire(KeyStyle.UPPER)
    return {
        "nik_lookup": Target.post(
            f"{stack.gateway_url}/v1/nik-lookups", {**DEMO_ACCOUNTABILITY, "nik": nik}, stack.auth
        ),
        "claims": Target.post(
            f"{stack.gateway_url}/v1/claims-verifications",
            {**DEMO_ACCOUNTABILITY, "nik": nik, "claims": claims},
            stack.auth,
        ),
        "simulator_direct": Target.post(stack.call_nik_url, direct),
    }


def _cell(stack: BenchStack, target: Target, concurrency: int, seconds: float) -> dict[str, Any]:
    pids = {"gateway": stack.gateway_pids(), "simulator": [stack.simulator_pid]}
    cpu_before = {name: _cpu(group) for name, group in pids.items()}
    client_before = _own_cpu()
    result: LoadResult = load(target, concurrency=concurrency, seconds=seconds)
    client_cpu = _own_cpu() - client_before
    count = max(result.count, 1)
    ms = [x * 1000 for x in result.latencies]
    cpu = {f"{n}_cpu_ms_per_request": (_cpu(group) - cpu_before[n]) * 1000 / count
           for n, group in pids.items()}  # fmt: skip
    return {
        "concurrency": concurrency,
        "requests": result.count,
        "seconds": round(result.seconds, 2),
        "rps": round(result.rps, 1),
        "p50_ms": round(statistics.median(ms), 2) if ms else None,
        "p99_ms": round(percentile(ms, 0.99), 2) if ms else None,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        **{k: round(v, 3) for k, v in cpu.items()},
        "client_cpu_ms_per_request": round(client_cpu * 1000 / count, 3),
    }


def _cpu(pids: list[int]) -> float:
    """CPU seconds of a group of processes (a worker that exited meanwhile counts as 0)."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except FileNotFoundError:
            continue
    return total


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def run_rest(stack: BenchStack, concurrencies: tuple[int, ...], seconds: float) -> dict[str, Any]:
    """Each endpoint at each concurrency, and the gateway/direct ratios of the same run."""
    calls = targets(stack)
    stack.set_latency(0)
    cells: dict[str, list[dict[str, Any]]] = {name: [] for name in calls}
    for concurrency in concurrencies:
        for name, target in calls.items():
            cells[name].append(_cell(stack, target, concurrency, seconds))
    ratios: dict[str, list[dict[str, Any]]] = {}
    for name in ("nik_lookup", "claims"):
        ratios[name] = []
        for mine, direct in zip(cells[name], cells["simulator_direct"], strict=True):
            ratios[name].append(
                {
                    "concurrency": mine["concurrency"],
                    "rps_ratio": _ratio(mine["rps"], direct["rps"]),
                    "p50_ratio": _ratio(mine["p50_ms"], direct["p50_ms"]),
                    "p50_overhead_ms": _minus(mine["p50_ms"], direct["p50_ms"]),
                }
            )
    return {"simulator_latency_ms": 0, "seconds_per_cell": seconds, "cells": cells,
            "vs_direct": ratios}  # fmt: skip


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _minus(a: float | None, b: float | None) -> float | None:
    return round(a - b, 2) if a is not None and b is not None else None


def _memory_point(stack: BenchStack, requests: int) -> dict[str, Any]:
    """VmRSS of the gateway's process and, under `serve --workers N`, of each worker."""
    point: dict[str, Any] = {"requests": requests, "rss_mib": _mib(stack.gateway_pid)}
    workers = stack.worker_pids()
    if workers:
        point["workers_rss_mib"] = [_mib(pid) for pid in workers]
    return point


def _mib(pid: int) -> float:
    return round(rss_bytes(pid) / 2**20, 1)


def run_memory(stack: BenchStack, checkpoints: tuple[int, ...]) -> dict[str, Any]:
    """Gateway VmRSS after each checkpoint's number of requests (NIK lookups and claims, mixed)."""
    calls = targets(stack)
    stack.set_latency(0)
    points = [_memory_point(stack, 0)]
    done = 0
    for checkpoint in sorted(checkpoints):
        while done < checkpoint:
            batch = min(checkpoint - done, 2000)
            half = batch // 2
            for name, count in (("nik_lookup", batch - half), ("claims", half)):
                if count:
                    result = load(
                        calls[name],
                        concurrency=MEMORY_CONCURRENCY,
                        seconds=3600,
                        limit=count,
                        warmup=0,
                    )
                    if set(result.statuses) != {200}:
                        raise RuntimeError(f"memory run: unexpected statuses {result.statuses}")
                    done += result.count
        points.append(_memory_point(stack, done))
    first = next(p for p in points if p["requests"] >= min(checkpoints))
    growth = points[-1]["rss_mib"] - first["rss_mib"]
    summary: dict[str, Any] = {"concurrency": MEMORY_CONCURRENCY, "points": points,
                               "growth_mib_after_first_checkpoint": round(growth, 1)}  # fmt: skip
    if "workers_rss_mib" in first:
        pairs = zip(first["workers_rss_mib"], points[-1]["workers_rss_mib"], strict=True)
        summary["workers_growth_mib_after_first_checkpoint"] = [round(b - a, 1) for a, b in pairs]
    return summary
