"""Where the gateway's CPU goes under REST load: py-spy samples the gateway process.

    pip install -e '.[bench]'
    python -m bench.profile [--endpoint nik_lookup|claims] [--seconds 8] [--concurrency 8]

Starts the registry-path stack of `python -m bench` (no PC/SC), loads the endpoint with the
bench's HTTP client and has py-spy sample only the thread holding the GIL (`--gil`: CPU work,
not waits). Prints the functions with the largest share, inclusive and self; `--svg` also
writes a flame graph. Needs ptrace rights over the gateway (root, or ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.http_load import load
from bench.rest import targets
from bench.stack import bench_stack

RATE_HZ = 200


def _function(frame: str) -> str:
    """'name (file.py:line)' -> 'name (file.py)': lines of one function count together."""
    return frame.rsplit(":", 1)[0] + ")" if ":" in frame else frame


def summarise(raw: Path, top: int) -> list[str]:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames, n = stack.split(";"), int(count)
        total += n
        own[_function(frames[-1])] += n
        for name in {_function(f) for f in frames}:
            inclusive[name] += n
    lines = [f"{total} samples with the GIL held"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"-- {title}")
        lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
    return lines


def _spy_argv(py_spy: str, pid: int, seconds: str, kind: str, path: Path) -> list[str]:
    rate = str(RATE_HZ)
    options = ["--pid", str(pid), "--duration", seconds, "--rate", rate, "--gil", "--nonblocking"]
    return [py_spy, "record", *options, "--format", kind, "--output", str(path)]


def main(argv: Sequence[str] | None = None) -> int:
    """Profile the gateway under load and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--endpoint", choices=("nik_lookup", "claims"), default="nik_lookup")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--svg", type=Path, default=None, help="also write a flame graph here")
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's collapsed stacks")
    args = parser.parse_args(argv)
    # The venv's own bin first: `.venv/bin/python -m bench.profile` without an activated venv.
    beside = Path(sys.executable).parent / "py-spy"
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory() as tmp, bench_stack(pcsc=False) as stack:
        target = targets(stack)[args.endpoint]
        load(target, concurrency=args.concurrency, seconds=2)  # warm-up
        raw = args.raw or Path(tmp) / "stacks.txt"
        outputs = [("raw", raw)] + ([("flamegraph", args.svg)] if args.svg else [])
        seconds = str(round(args.seconds))
        spies = [
            subprocess.Popen(  # noqa: S603 - our own argv, the pid of the gateway we started
                _spy_argv(py_spy, stack.gateway_pid, seconds, kind, path),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for kind, path in outputs
        ]
        time.sleep(0.5)  # py-spy attaches
        result = load(target, concurrency=args.concurrency, seconds=args.seconds)
        for spy in spies:
            spy.wait()
        print(f"{args.endpoint}: {result.rps:.0f} req/s while sampled (py-spy slows it a little)")
        print("\n".join(summarise(raw, args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
