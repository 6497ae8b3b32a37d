"""Small helpers the benchmark parts share: percentiles, process CPU and memory from /proc."""

from __future__ import annotations

import json
import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float], digits: int = 2) -> dict[str, float]:
    """Median, p99, min and max, rounded."""
    return {
        "median": round(statistics.median(values), digits),
        "p99": round(percentile(values, 0.99), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory (VmRSS) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def load_average() -> float:
    """The 1-minute load average (first field of /proc/loadavg)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def record(measured: dict[str, Any], prefix: str, out: Path | None = None) -> dict[str, Any]:
    """`measured` stamped with the machine and the time, written as JSON to `out` (default:
    bench/results/<prefix>-<date>-<host>.json); the stamped result, with `written` its path."""
    host = socket.gethostname()
    result = {
        "host": host,
        "cores": os.cpu_count(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **measured,
    }
    path = (
        out or Path(__file__).parent / "results" / f"{prefix}-{time.strftime('%Y%m%d')}-{host}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {**result, "written": str(path)}
