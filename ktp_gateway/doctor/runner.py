"""Run the check families side by side, each step with its own timeout.

A step that does not answer in time (pcscd stopped mid-call, a network black hole) becomes a
FAIL line and the rest of its family is skipped; its thread is a daemon, so it cannot keep the
doctor from exiting. Lines come out in the families' order, not the order they finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, Status, fail, skip

log = structlog.get_logger("ktp_gateway.doctor")

StepRun = Callable[[Context], list[Line]]


@dataclass(frozen=True, slots=True)
class Step:
    """One check: its id and title (for the timeout line), what it runs, the fix if it hangs.

    With `gates`, a FAIL from this step skips the rest of its family (no pcscd: no readers).
    """

    check: str
    title: str
    run: StepRun
    hang_fix: str
    gates: bool = False


Family = Sequence[Step]


def _timed(step: Step, context: Context, timeout: float) -> list[Line] | None:
    """The step's lines, or None when it did not finish within `timeout` seconds."""
    box: list[list[Line]] = []

    def target() -> None:
        try:
            box.append(step.run(context))
        except Exception as exc:
            # A bug in a check must not hide the other lines: report it as that check's FAIL.
            log.warning("doctor.check_failed", operation=step.check, error_type=type(exc).__name__)
            box.append(
                [
                    fail(
                        step.check,
                        step.title,
                        f"the check itself failed ({type(exc).__name__})",
                        "report this with the doctor's --json output",
                    )
                ]
            )

    worker = threading.Thread(target=target, name=f"doctor-{step.check}", daemon=True)
    worker.start()
    worker.join(timeout)
    return box[0] if box else None


def run_family(family: Family, context: Context) -> list[Line]:
    """The family's steps in order; after a hang or a gating FAIL the rest are skipped."""
    lines: list[Line] = []
    stopped: str | None = None
    timeout = context.options.timeout
    for step in family:
        if stopped is not None:
            lines.append(skip(step.check, step.title, stopped))
            continue
        found = _timed(step, context, timeout)
        if found is None:
            lines.append(
                fail(step.check, step.title, f"no answer within {timeout:g} s", step.hang_fix)
            )
            stopped = f"{step.title} did not answer"
            continue
        lines += found
        failed = [line for line in found if line.status is Status.FAIL]
        if step.gates and failed:
            stopped = failed[0].summary
    return lines


def run_families(families: Sequence[Family], context: Context) -> tuple[list[Line], float]:
    """Every family in its own thread; all lines in order, and the seconds the run took."""
    started = time.perf_counter()
    results: list[list[Line]] = [[] for _ in families]

    def run(index: int) -> None:
        results[index] = run_family(families[index], context)

    threads = [
        threading.Thread(target=run, args=(i,), name=f"doctor-family-{i}", daemon=True)
        for i in range(len(families))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # each step is bounded by its timeout, so each family is too
    return [line for lines in results for line in lines], time.perf_counter() - started
