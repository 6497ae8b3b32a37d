"""Issue 8's benchmarks in one command: `python -m bench` (see BENCHMARKS.md).

1. tap breakdown through the gateway (card I/O, SAM, Dukcapil at 0 and 50 ms, the rest);
2. APDU economy against the floor computed from firmware_specs/;
3. the tap projected onto real readers (ISO 14443-4 at 106/424/848 kbit/s, SAM over T=1);
4. REST throughput and latency, NIK lookups and claims, against calling the simulator directly;
5. the gateway's resident memory after 1,000 and 100,000 requests;
6. taps per second with one and two reader pairs (when the stack has a second unit).

Prints a table and writes bench/results/<date>-<host>.json. No NIK or name is written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.readers import run_readers
from bench.report import render
from bench.rest import run_memory, run_rest
from bench.stack import bench_stack
from bench.stats import load_average
from bench.taps import run_taps

RESULTS = Path(__file__).parent / "results"
QUIET_LOAD = 0.7


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("--taps", type=int, default=200, help="verifications per simulator latency (part 1)")
    add("--latencies", default="0,50", help="simulator latencies in ms (part 1)")
    add("--concurrency", default="1,8,64", help="REST concurrency levels (part 4)")
    add("--rest-seconds", type=float, default=5.0, help="window per endpoint and level (part 4)")
    add("--memory", default="1000,100000", help="request counts to read VmRSS after (part 5)")
    add("--reader-seconds", type=float, default=10.0, help="window per reader count (part 6)")
    add("--wait-quiet", type=float, default=0.0, help="wait up to this many seconds for load<0.7")
    add("--out", type=Path, default=None, help="JSON path (default bench/results/<date>-<host>)")
    add("--skip", default="", help="parts to skip, e.g. 5,6")
    return parser


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, kernel and Python of this machine."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the working tree had uncommitted changes then."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", "-C", str(root), *args],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain")),
    }


def _wait_quiet(seconds: float) -> float:
    deadline = time.monotonic() + seconds
    load = load_average()
    while load >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(10)
        load = load_average()
    return load


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every part not skipped; the results as one JSON-able dict."""
    skip = set(_ints(args.skip))
    load_before = _wait_quiet(args.wait_quiet)
    started = time.time()
    result: dict[str, Any] = {
        "benchmark": "ktp-gateway issue 8",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "command": "python -m bench " + " ".join(_argv_echo(args)),
        "machine": machine(),
        "code": code_version(),
        "load_average_at_start": load_before,
        "parts": {},
        "seconds_per_part": {},
        "load_average_after_part": {},
    }
    parts, took = result["parts"], result["seconds_per_part"]
    if not {1, 2, 3, 6} <= skip:
        mark = time.monotonic()
        with bench_stack(pcsc=True, two_units=6 not in skip) as stack:
            took["pcsc_stack_start_incl_lock_wait"] = _since(mark)
            if not {1, 2, 3} <= skip:
                mark = time.monotonic()
                taps = run_taps(stack, args.taps, _ints(args.latencies))
                parts["tap_breakdown"] = taps["breakdown"]
                parts["apdu_sequence"] = taps["sequence"]
                parts["apdu_economy"] = taps["sequence"]["apdu_economy"]
                took["taps"] = _since(mark)
                _note_load(result, "taps")
            if 6 not in skip:
                mark = time.monotonic()
                parts["readers"] = run_readers(stack, args.reader_seconds)
                took["readers"] = _since(mark)
                _note_load(result, "readers")
    if not {4, 5} <= skip:
        with bench_stack(pcsc=False) as stack:
            if 4 not in skip:
                mark = time.monotonic()
                parts["rest"] = run_rest(stack, _ints(args.concurrency), args.rest_seconds)
                took["rest"] = _since(mark)
                _note_load(result, "rest")
            if 5 not in skip:
                mark = time.monotonic()
                parts["memory"] = run_memory(stack, _ints(args.memory))
                took["memory"] = _since(mark)
                _note_load(result, "memory")
    result["seconds"] = round(time.time() - started, 1)
    result["load_average_at_end"] = load_average()
    return result


def _since(mark: float) -> float:
    return round(time.monotonic() - mark, 1)


def _note_load(result: dict[str, Any], part: str) -> None:
    """The 1-minute load average as each part ends: others' work on the cores shows here."""
    result["load_average_after_part"][part] = load_average()


def _argv_echo(args: argparse.Namespace) -> list[str]:
    defaults = _parser().parse_args([])
    echoed = []
    for name, value in vars(args).items():
        if value != getattr(defaults, name):
            echoed.append(f"--{name.replace('_', '-')} {value}")
    return echoed


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    args = _parser().parse_args(argv)
    result = run(args)
    out = args.out or RESULTS / f"{result['date'][:10]}-{result['machine']['host']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwritten: {out}")
    return 0
