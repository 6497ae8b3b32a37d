"""`python -m bench.scale`: how NIK lookups grow with callers and with worker processes.

For each layout (one process on the embedded defaults; 1, 2 and 4 workers on PostgreSQL) the
gateway is started on the registry path, and at each concurrency the same client calls NIK
lookups through it and CALL_NIK on the simulator directly, in the same run on the same cores:
requests/s, p50, the gateway's CPU per request (the supervisor and every worker) and the ratio
to direct. Then the latency-bound case: the simulator answering after 50 ms, concurrency 64,
against the ceiling `concurrency / latency`. The machine's cores are printed with the table: on
2 cores the client, the simulator, PostgreSQL and the workers share them, and a flat line is a
core limit, not a design limit. JSON under bench/results/scale-<date>-<host>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.rest import _cell, targets
from bench.run import RESULTS, code_version, machine
from bench.stack import BenchStack, bench_stack
from tests.postgres import start_postgres

LATENCY_MS = 50
LATENCY_CONCURRENCY = 64
# Dukcapil's in-flight budget (dukcapil.max_concurrency, default 4): at the benchmark's 64 so the
# latency-bound cell measures the gateway, not the budget; the workers share it.
BUDGET = {"KTP_GATEWAY_DUKCAPIL__MAX_CONCURRENCY": "64"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--workers", default="1,2,4", help="worker counts on PostgreSQL")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=4.0, help="per cell")
    parser.add_argument("--out", type=Path, default=None)
    return parser


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


@contextmanager
def _layouts(workers: list[int]) -> Iterator[Iterator[tuple[str, BenchStack]]]:
    """Each layout's running stack in turn: `local` (one process, files and memory), then
    `Nxpg` (N workers, the audit trail and rate limits in one PostgreSQL server)."""
    server = start_postgres()
    try:

        def each() -> Iterator[tuple[str, BenchStack]]:
            with bench_stack(pcsc=False, env=BUDGET) as stack:
                yield "local", stack
            for count in workers:
                env = {
                    **BUDGET,
                    "KTP_GATEWAY_SHARED__BACKEND": "postgres",
                    "KTP_GATEWAY_SHARED__POSTGRES_DSN": server.dsn,
                }
                with bench_stack(pcsc=False, workers=count, env=env) as stack:
                    yield f"{count}xpg", stack

        yield each()
    finally:
        server.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every layout at every concurrency, plus the latency-bound cell."""
    concurrencies = _ints(args.concurrency)
    rows: list[dict[str, Any]] = []
    with _layouts(_ints(args.workers)) as layouts:
        for layout, stack in layouts:
            calls = targets(stack)
            stack.set_latency(0)
            for concurrency in concurrencies:
                mine = _cell(stack, calls["nik_lookup"], concurrency, args.seconds)
                direct = _cell(stack, calls["simulator_direct"], concurrency, args.seconds)
                rows.append(_row(layout, concurrency, 0, mine, direct))
            stack.set_latency(LATENCY_MS)
            mine = _cell(stack, calls["nik_lookup"], LATENCY_CONCURRENCY, args.seconds)
            direct = _cell(stack, calls["simulator_direct"], LATENCY_CONCURRENCY, args.seconds)
            rows.append(_row(layout, LATENCY_CONCURRENCY, LATENCY_MS, mine, direct))
    return {
        "benchmark": "ktp-gateway issue 16: scale",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "cores_usable": len(os.sched_getaffinity(0))},
        "code": code_version(),
        "seconds_per_cell": args.seconds,
        "dukcapil_max_concurrency": int(BUDGET["KTP_GATEWAY_DUKCAPIL__MAX_CONCURRENCY"]),
        "rows": rows,
    }


def _row(
    layout: str, concurrency: int, latency_ms: int, mine: dict[str, Any], direct: dict[str, Any]
) -> dict[str, Any]:
    ceiling = concurrency / (latency_ms / 1000) if latency_ms else None
    return {
        "layout": layout,
        "concurrency": concurrency,
        "simulator_latency_ms": latency_ms,
        "rps": mine["rps"],
        "p50_ms": mine["p50_ms"],
        "p99_ms": mine["p99_ms"],
        "gateway_cpu_ms_per_request": mine["gateway_cpu_ms_per_request"],
        "simulator_cpu_ms_per_request": mine["simulator_cpu_ms_per_request"],
        "client_cpu_ms_per_request": mine["client_cpu_ms_per_request"],
        "statuses": mine["statuses"],
        "direct_rps": direct["rps"],
        "direct_p50_ms": direct["p50_ms"],
        "ratio_to_direct": round(mine["rps"] / direct["rps"], 2) if direct["rps"] else None,
        "ratio_to_latency_ceiling": round(mine["rps"] / ceiling, 2) if ceiling else None,
    }


def render(result: dict[str, Any]) -> str:
    """The table a reader compares layouts with."""
    cores = result["machine"]
    lines = [
        f"{cores['cores_usable']} usable cores ({cores['cpu']}); "
        f"commit {result['code']['commit'][:10]}"
        + (" (uncommitted changes)" if result["code"]["uncommitted_changes"] else ""),
        "layout  conc  lat_ms     rps  p50_ms  cpu_ms/req  direct_rps  ratio  vs_ceiling",
    ]
    for row in result["rows"]:
        ceiling = row["ratio_to_latency_ceiling"]
        lines.append(
            f"{row['layout']:6} {row['concurrency']:5} {row['simulator_latency_ms']:7} "
            f"{row['rps']:7.1f} {row['p50_ms'] or 0:7.2f} {row['gateway_cpu_ms_per_request']:11.3f}"
            f" {row['direct_rps']:11.1f} {row['ratio_to_direct'] or 0:6.2f}"
            f" {'' if ceiling is None else f'{ceiling:10.2f}'}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    result = run(args)
    host = result["machine"]["host"]
    out = args.out or RESULTS / f"scale-{result['date'][:10]}-{host}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
