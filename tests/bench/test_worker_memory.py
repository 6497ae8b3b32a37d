"""The per-worker memory run reads each worker's VmRSS, briefly (two workers on PostgreSQL).
Not a timed test: the figures are printed, not checked."""

from __future__ import annotations

import json
from pathlib import Path

from bench.worker_memory import main


def test_each_workers_memory_is_read_at_each_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    assert main(["--workers", "2", "--per-worker", "20,40", "--out", str(out)]) == 0
    memory = json.loads(out.read_text())["memory"]
    points = memory["points"]
    assert all(p["requests"] >= n for p, n in zip(points, (0, 40, 80), strict=True))
    assert all(len(p["workers_rss_mib"]) == 2 for p in points)  # not the resource tracker
    assert len(memory["workers_growth_mib_after_first_checkpoint"]) == 2
