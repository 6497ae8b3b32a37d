"""The Dukcapil client's HTTP edge compared: aiohttp (the product's) and httpx, in one run.

    python -m bench.upstream [--concurrency 1,8,64] [--seconds 5]

Both run the gateway's real client path (`DukcapilClient.query_nik`: breaker, concurrency cap,
wire body, envelope parsing, the granted-field mapping) against the Dukcapil simulator process,
in this process, with `dukcapil.max_concurrency` at the highest concurrency and the pool sized
to it (HTTP/1.1 keep-alive). The httpx transport lives here, not in the product: it is the one
the gateway used before issue 16. Prints calls/s and this process's CPU per call for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.stack import bench_stack
from bench.stats import record
from ktp_gateway.dukcapil_client.client import DukcapilClient, Transport, transport_for
from ktp_gateway.dukcapil_client.interpret import Answer
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway_dev.demo import DEMO_CONSUMER_PATH, DEMO_USER_ID
from ktp_gateway_dev.simulators.population import load_population

PERSON = "budi"  # a synthetic person


class HttpxTransport:
    """The pre-issue-16 edge: httpx.AsyncClient, pool sized to the concurrency limit."""

    def __init__(self, settings: DukcapilSettings) -> None:
        limit = settings.max_concurrency
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout_seconds),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            headers={"Accept": "application/json"},
            follow_redirects=False,
            trust_env=False,
        )

    async def post(self, url: str, body: Any, headers: Mapping[str, str]) -> Answer:
        response = await self._http.post(url, json=body, headers=dict(headers))
        return Answer(
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            response.headers.get("retry-after"),
            response.headers.get("date"),
        )

    async def peer_certificate(self, url: str) -> bytes | None:
        return None

    async def aclose(self) -> None:
        await self._http.aclose()


def _settings(simulator_url: str, password: str, concurrency: int) -> DukcapilSettings:
    return DukcapilSettings(
        base_url=simulator_url,
        consumer_path=DEMO_CONSUMER_PATH,
        user_id=DEMO_USER_ID,
        password=password,
        ip_user="127.0.0.1",
        max_concurrency=concurrency,
    )


async def _cell(
    client: DukcapilClient, nik: str, concurrency: int, seconds: float
) -> dict[str, Any]:
    for _ in range(2 * concurrency):  # warm the pool
        await client.query_nik(nik)
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.query_nik(nik)
            done += 1

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    used = time.process_time() - cpu
    return {
        "concurrency": concurrency,
        "calls": done,
        "rps": round(done / wall, 1),
        "cpu_ms_per_call": round(used * 1000 / max(done, 1), 3),
    }


async def _measure(
    settings: DukcapilSettings, transport: Transport, levels: Sequence[int], seconds: float
) -> list[dict[str, Any]]:
    nik = load_population().by_key(PERSON).registry_record().nik
    async with DukcapilClient(settings, transport=transport) as client:
        return [await _cell(client, nik, level, seconds) for level in levels]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    levels = tuple(int(x) for x in args.concurrency.split(","))
    results: dict[str, list[dict[str, Any]]] = {}
    with bench_stack(pcsc=False) as stack:
        settings = _settings(stack.simulator_url, stack.password, max(levels))
        makers = {
            "aiohttp": lambda: transport_for(settings),
            "httpx": lambda: HttpxTransport(settings),
        }
        for name, make in makers.items():
            results[name] = asyncio.run(_measure(settings, make(), levels, args.seconds))
    print(f"Dukcapil client path, {os.cpu_count()} cores, {args.seconds} s per cell")
    print(f"  {'client':8} {'conc':>5} {'calls/s':>8} {'CPU ms/call':>12}")
    for name, cells in results.items():
        for cell in cells:
            print(
                f"  {name:8} {cell['concurrency']:5} {cell['rps']:8} {cell['cpu_ms_per_call']:12}"
            )
    written = record({"upstream": results, "seconds": args.seconds}, "upstream", args.out)
    print(f"written: {written['written']}")


if __name__ == "__main__":
    main()
