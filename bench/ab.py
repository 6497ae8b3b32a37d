"""`python -m bench.ab --base REV`: a change's cost against a base commit, in one sitting.

This 2-core VM's speed moves by a third within the hour, so two `bench.scale` runs minutes apart
cannot show a 5 % step. Here both gateways run at once (the base's from a git worktree of REV,
each with its own simulator), and the same client loads them in alternated short cells, in
A-B-B-A order so that a drift in machine speed falls on both alike. Per cell: the gateway's CPU
per NIK lookup and lookups/s; the summary gives each side's median and the median of the paired
differences (new less base), with how many pairs the new tree won.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.rest import _cell, targets
from bench.run import code_version, machine
from bench.stack import BenchStack, bench_stack

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    """A detached worktree of `rev`, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="ktp-bench-ab-") as tmp:
        path = Path(tmp) / "base"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", "-f", str(path), rev], check=True)  # noqa: S603
        try:
            yield path
        finally:
            subprocess.run([*git, "remove", "--force", str(path)], check=False)  # noqa: S603


@contextmanager
def _stacks(base: Path, env: dict[str, str]) -> Iterator[tuple[BenchStack, BenchStack]]:
    with ExitStack() as stack:
        # PYTHONSAFEPATH: `python -m` would put the current directory (this tree) first.
        tree = {"PYTHONPATH": str(base), "PYTHONSAFEPATH": "1"}
        old = stack.enter_context(bench_stack(pcsc=False, env={**env, **tree}))
        new = stack.enter_context(bench_stack(pcsc=False, env=env))
        yield old, new


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Alternated cells through both gateways; raw cells and the paired summary."""
    env = {"KTP_GATEWAY_DUKCAPIL__MAX_CONCURRENCY": str(args.concurrency)}
    cells: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
    with _worktree(args.base) as base, _stacks(base, env) as (old, new):
        stacks = {"base": old, "new": new}
        calls = {name: targets(s)["nik_lookup"] for name, s in stacks.items()}
        for name, s in stacks.items():  # warm both: imports, pools, caches
            _cell(s, calls[name], args.concurrency, 1.0)
        for round_ in range(args.rounds):
            order = ("base", "new") if round_ % 2 == 0 else ("new", "base")
            for name in order:
                cells[name].append(_cell(stacks[name], calls[name], args.concurrency, args.seconds))
    return {
        "benchmark": "ktp-gateway: a change against a base commit (NIK lookups)",
        "machine": machine(),
        "code": code_version(),
        "base": args.base,
        "concurrency": args.concurrency,
        "seconds_per_cell": args.seconds,
        "summary": summarise(cells),
        "cells": cells,
    }


def summarise(cells: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each side's median, and the median of the per-round differences (new less base)."""
    out: dict[str, Any] = {}
    for key in ("gateway_cpu_ms_per_request", "rps"):
        base = [c[key] for c in cells["base"]]
        new = [c[key] for c in cells["new"]]
        diffs = [n - b for b, n in zip(base, new, strict=True)]
        better = (
            sum(d < 0 for d in diffs) if key.startswith("gateway") else sum(d > 0 for d in diffs)
        )
        out[key] = {
            "base_median": round(statistics.median(base), 3),
            "new_median": round(statistics.median(new), 3),
            "median_difference": round(statistics.median(diffs), 3),
            "rounds_new_better": f"{better}/{len(diffs)}",
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="per cell")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="also write the cells as JSON")
    args = parser.parse_args(argv)
    result = run(args)
    for key, figures in result["summary"].items():
        print(key, json.dumps(figures))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
