"""One set of metrics for several worker processes (`serve --workers N`).

A scrape lands on whichever worker accepts it; each worker's counters alone would jump between
scrapes and read as resets. prometheus_client's multiprocess mode keeps every worker's counters,
histograms and gauges in small memory-mapped files in one directory, and the worker that takes
the scrape sums them. The supervisor makes that directory on tmpfs when there is one (owner-only,
removed when it stops): the files hold metric names, bounded labels and numbers, never personal
data. What is computed at scrape time (reader, SAM, agreement, certificate collectors) and the
build info come from the scraped worker, as they are the same in every worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when a worker imports it
_TMPFS = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a fresh 0700 directory in it)


def enabled() -> bool:
    """True in a worker of `serve --workers N` (the supervisor set the directory)."""
    return bool(os.environ.get(ENV))


def prepare() -> Path:
    """A fresh owner-only directory for the workers' metric files, named in the environment
    the workers inherit (before they start)."""
    parent = _TMPFS if _TMPFS.is_dir() and os.access(_TMPFS, os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="ktp-gateway-metrics-", dir=parent))
    os.environ[ENV] = str(directory)
    return directory


def forget(pid: int) -> None:
    """A worker died: its gauges leave the live views (its counters stay in the sums)."""
    mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    os.environ.pop(ENV, None)


class _Merged:
    """Every worker's counters, histograms and gauges, then this worker's scrape-time rest."""

    def __init__(self, worker: CollectorRegistry) -> None:
        self._worker = worker

    def collect(self) -> Iterator[Metric]:
        shared = list(MultiProcessCollector(None).collect())  # type: ignore[no-untyped-call]
        names = {family.name for family in shared}
        yield from shared
        for family in self._worker.collect():
            if family.name not in names:  # collectors, build info, series no worker wrote
                yield family


def exposition(worker: CollectorRegistry) -> bytes:
    """The text a scrape gets: the sums over all workers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(worker))
    return generate_latest(registry)
