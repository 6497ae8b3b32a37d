"""Hypothesis at volume within a fixed time budget: the suite's fuzzing harness.

Each target runs batches of generated inputs (a new seed per batch) until its budget is spent,
so the suite's time stays fixed while the volume grows with the machine's speed.
`KTP_GATEWAY_FUZZ_SECONDS` sets the budget per target (default 2 s; the closing-note run used
60 s), and `KTP_GATEWAY_FUZZ_REPORT=FILE` appends one JSON line per target with its volume.
A failing input is shrunk and reported by hypothesis like any property test.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

T = TypeVar("T")
DEFAULT_SECONDS = 2.0
BATCH = 200
MAX_INPUT_SECONDS = 2.0  # one input taking longer is a hang for this suite's purposes


def budget_seconds() -> float:
    return float(os.environ.get("KTP_GATEWAY_FUZZ_SECONDS", DEFAULT_SECONDS))


def fuzz(
    name: str, strategy: st.SearchStrategy[T], target: Callable[[T], Any], *, batch: int = BATCH
) -> int:
    """Call `target` on generated inputs until the budget is spent; the number of inputs tried.

    `batch` inputs run per seed: smaller for slow targets, so the budget is kept closely.
    """
    deadline = time.monotonic() + budget_seconds()
    tried = 0
    batches = 0
    started = time.monotonic()
    while True:

        @seed(batches)
        @settings(
            max_examples=batch,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def run(value: T) -> None:
            nonlocal tried
            tried += 1
            began = time.monotonic()
            target(value)
            took = time.monotonic() - began
            assert took < MAX_INPUT_SECONDS, f"one input took {took:.1f} s"

        run()
        batches += 1
        if time.monotonic() >= deadline:
            break
    _report(name, tried, time.monotonic() - started)
    return tried


def _report(name: str, tried: int, seconds: float) -> None:
    path = os.environ.get("KTP_GATEWAY_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(
                json.dumps({"target": name, "inputs": tried, "seconds": round(seconds, 1)})
            )
            handle.write("\n")
