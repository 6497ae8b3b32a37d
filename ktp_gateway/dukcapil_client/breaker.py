"""A circuit breaker toward Dukcapil's single access point.

While Dukcapil is down, every lookup would wait for its timeout; after `failures` service
failures in a row the breaker opens and calls fail at once (`dukcapil_circuit_open`) for
`open_seconds`. Then it is half open: one probe goes through; success closes it, failure opens
it again. Only service failures count (unreachable, timeout, unusable answer): a refusal or
"not found" means Dukcapil is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from ktp_gateway.errors import DukcapilError, ErrorCode

SERVICE_FAILURES = frozenset(
    {ErrorCode.DUKCAPIL_UNAVAILABLE, ErrorCode.DUKCAPIL_TIMEOUT, ErrorCode.DUKCAPIL_BAD_RESPONSE}
)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(DukcapilError):
    """Dukcapil failed repeatedly; the call was not attempted. `retry_after_seconds` says when."""

    code = ErrorCode.DUKCAPIL_CIRCUIT_OPEN

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(
            f"Dukcapil failed repeatedly; not asking again for {retry_after_seconds:.0f} s"
        )
        self.retry_after_seconds = retry_after_seconds


class CircuitBreaker:
    """Closed, open, half open; one event loop uses it (no lock needed)."""

    def __init__(
        self,
        *,
        failures: int,
        open_seconds: float,
        on_change: Callable[[BreakerState], None] = lambda state: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold, self._open_seconds = failures, open_seconds
        self._on_change, self._clock = on_change, clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            self._on_change(state)

    def before(self) -> None:
        """Let a call through, or raise CircuitOpenError without calling."""
        if self._state is BreakerState.OPEN:
            left = self._opened_at + self._open_seconds - self._clock()
            if left > 0:
                raise CircuitOpenError(left)
            self._set(BreakerState.HALF_OPEN)
        if self._state is BreakerState.HALF_OPEN:
            if self._probing:  # one probe at a time; the rest fail fast meanwhile
                raise CircuitOpenError(self._open_seconds)
            self._probing = True

    def after(self, code: ErrorCode | None) -> None:
        """Record how the call ended: None for an answer from Dukcapil, else the error code."""
        self._probing = False
        if code in SERVICE_FAILURES:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
                self._opened_at = self._clock()
                self._set(BreakerState.OPEN)
            return
        self._failures = 0
        self._set(BreakerState.CLOSED)

    def cancelled(self) -> None:
        """A call was cancelled before it ended: free the probe slot, change nothing else."""
        self._probing = False
