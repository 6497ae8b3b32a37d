"""`python -m bench.worker_memory`: each worker's resident memory over many requests.

Part 5 of `python -m bench` reads one process's VmRSS after 1,000 and 100,000 requests; with
`serve --workers N` on PostgreSQL each worker is a process of its own, with its own pools,
caches and rate-limit connections. This runs the N-worker layout of `bench.scale` (a PostgreSQL
server of the test set-up, the registry path, no PC/SC) and reads the VmRSS of the supervisor
and of every worker after N x each checkpoint requests (NIK lookups and claims verifications,
mixed, at 8 callers). The kernel spreads connections over the workers, not exactly evenly, so
the checkpoints are per worker on average. JSON under bench/results/worker-memory-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.rest import run_memory
from bench.run import RESULTS, code_version, machine
from bench.scale import BUDGET
from bench.stack import bench_stack
from tests.postgres import start_postgres


def run(workers: int, per_worker: Sequence[int]) -> dict[str, Any]:
    """The memory run on `workers` workers, checkpoints scaled by the worker count."""
    server = start_postgres()
    try:
        env = {
            **BUDGET,
            "KTP_GATEWAY_SHARED__BACKEND": "postgres",
            "KTP_GATEWAY_SHARED__POSTGRES_DSN": server.dsn,
        }
        with bench_stack(pcsc=False, workers=workers, env=env) as stack:
            memory = run_memory(stack, tuple(n * workers for n in per_worker))
    finally:
        server.stop()
    return {
        "benchmark": "ktp-gateway issue 16: resident memory per worker",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "code": code_version(),
        "workers": workers,
        "requests_per_worker": list(per_worker),
        "memory": memory,
    }


def render(result: dict[str, Any]) -> str:
    lines = ["requests  supervisor MiB  workers MiB"]
    for point in result["memory"]["points"]:
        workers = ", ".join(f"{mib:.1f}" for mib in point.get("workers_rss_mib", []))
        lines.append(f"{point['requests']:>8}  {point['rss_mib']:>14.1f}  {workers}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_memory", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-worker", default="1000,100000", help="requests per worker")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    per_worker = [int(x) for x in args.per_worker.split(",") if x.strip()]
    result = run(args.workers, per_worker)
    out = (
        args.out
        or RESULTS / f"worker-memory-{result['date'][:10]}-{result['machine']['host']}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
