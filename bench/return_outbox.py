"""How fast the data balikan outbox queues and delivers, on SQLite and on PostgreSQL.

Queues N items (each committed before `enqueue` returns, as the API does), then delivers them to
the Dukcapil simulator process (one HTTP call per item, the client's concurrency limit) and
reports per-item enqueue latency and delivery throughput. Writes bench/results/return_outbox.json.

    .venv/bin/python bench/return_outbox.py [--count 500]

The PostgreSQL server is the tests' throwaway cluster (fsync off), so its numbers are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' simulator helpers

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.observability.logs import configure_logging
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway_dev.simulators.dukcapil.config import DEFAULT_RETURN_TOKEN
from tests.dukcapil.conftest import Simulator, settings_for, start_simulator
from tests.postgres import start_postgres
from tests.returns.conftest import outbox_settings

RESULTS = Path(__file__).parent / "results"


def _niks(count: int) -> list[str]:
    # Synthetic: day 15 of months 1..12, years 80..99, serials 99xx.
    return [
        f"317101{15:02d}{1 + n % 12:02d}{80 + (n // 12) % 20:02d}{9900 + n // 240:04d}"
        for n in range(count)
    ]


async def _run(settings: ReturnDataSettings, sim: Simulator, count: int) -> dict[str, float]:
    client_settings = settings_for(
        sim,
        returns={
            "url": f"{sim.base_url}/dukcapil/data-balikan/store",
            "token": DEFAULT_RETURN_TOKEN,
        },
        max_concurrency=8,
    )
    async with DukcapilClient(client_settings) as client:
        outbox = Outbox(
            settings.model_copy(update={"batch_size": 64}),
            open_store(settings),
            Sealer(settings.key()),
            client,
        )
        latencies = []
        for n, nik in enumerate(_niks(count)):
            started = time.perf_counter()
            await outbox.enqueue(nik, f"REG-{n:05d}/2026", "SK-1/RP/2026")
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        while await outbox.deliver_due():
            pass
        seconds = time.perf_counter() - started
        if (await outbox.list()).items:
            raise SystemExit("the outbox did not drain")
    return {
        "enqueue_median_ms": round(statistics.median(latencies) * 1000, 2),
        "enqueue_p99_ms": round(sorted(latencies)[int(0.99 * (count - 1))] * 1000, 2),
        "delivered_per_second": round(count / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    count = parser.parse_args().count
    configure_logging("WARNING")
    sim = start_simulator()
    server = start_postgres()
    results: dict[str, object] = {"count": count, "machine": platform.machine()}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, settings in (
                ("sqlite", outbox_settings("sqlite", str(Path(tmp) / "bench.sqlite3"))),
                ("postgres", outbox_settings("postgres", server.dsn)),
            ):
                sim.reset()
                results[name] = asyncio.run(_run(settings, sim, count))
    finally:
        server.stop()
        sim.stop()
    print(json.dumps(results, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "return_outbox.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
