"""The simulator's run-time state: current style, quota, armed fault and request counters.

Counters hold counts only (no NIK, no credentials), so tests can read them to prove, say, that
a malformed NIK never reached the registry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ktp_gateway_dev.simulators.dukcapil.config import (
    Fault,
    FaultMode,
    FaultTarget,
    RuntimeConfig,
    SimulatorConfig,
    Style,
)
from ktp_gateway_dev.simulators.dukcapil.ledger import ReturnLedger


@dataclass
class SimulatorState:
    """Mutable state of one simulator process (one event loop: no locks needed)."""

    config: SimulatorConfig
    style: Style = Style.LEGACY
    latency_ms: int = 0
    quota_remaining: int | None = None
    fault: Fault = field(default_factory=Fault)
    return_fault: Fault = field(default_factory=Fault)
    query_faults: dict[FaultTarget, Fault] = field(default_factory=dict)  # one query's own
    return_latency_ms: int = 0
    quota_retry_after_seconds: int | None = None
    check_peer_ip: bool = False
    ledger: ReturnLedger = field(default_factory=ReturnLedger)
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)  # requests per query (nik, photo...)
    in_flight: int = 0
    max_in_flight: int = 0
    generation: int = 0  # bumped by reset: requests from before it no longer count

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the start-up configuration, counters at zero."""
        self.style = self.config.style
        self.latency_ms = self.config.latency_ms
        self.quota_remaining = self.config.quota
        self.fault = self.config.fault
        self.return_fault = Fault()
        self.query_faults = {}
        self.return_latency_ms = 0
        self.quota_retry_after_seconds = None
        self.check_peer_ip = self.config.check_peer_ip
        self.ledger = ReturnLedger()
        self.requests = 0
        self.outcomes.clear()
        self.queries.clear()
        self.in_flight = self.max_in_flight = 0
        self.generation += 1

    def configure(self, change: RuntimeConfig) -> None:
        """Apply the fields a test set; leave the rest."""
        if change.style is not None:
            self.style = change.style
        if change.latency_ms is not None:
            self.latency_ms = change.latency_ms
        if change.quota_remaining is not None:
            self.quota_remaining = change.quota_remaining
        if change.return_latency_ms is not None:
            self.return_latency_ms = change.return_latency_ms
        if change.quota_retry_after_seconds is not None:
            self.quota_retry_after_seconds = change.quota_retry_after_seconds
        if change.check_peer_ip is not None:
            self.check_peer_ip = change.check_peer_ip

    def arm(self, fault: Fault) -> None:
        """Arm `fault` on the endpoints it targets."""
        self._set(fault.target, fault)

    def _get(self, target: FaultTarget) -> Fault:
        if target is FaultTarget.RETURN_DATA:
            return self.return_fault
        if target is FaultTarget.QUERY:
            return self.fault
        return self.query_faults.get(target, Fault())

    def _set(self, target: FaultTarget, fault: Fault) -> None:
        if target is FaultTarget.RETURN_DATA:
            self.return_fault = fault
        elif target is FaultTarget.QUERY:
            self.fault = fault
        else:
            self.query_faults[target] = fault

    def take_fault(
        self, target: FaultTarget = FaultTarget.QUERY, query: str | None = None
    ) -> Fault | None:
        """The fault this request suffers, if one is armed; counts it down.

        A query's own fault (target `nik`, `photo`, `family`) comes before one on every query.
        """
        if query is not None and self._get(FaultTarget(query)).mode is not FaultMode.NONE:
            target = FaultTarget(query)
        fault = self._get(target)
        if fault.mode is FaultMode.NONE:
            return None
        if fault.count is not None:
            left = fault.count - 1
            self._set(target, fault.model_copy(update={"count": left}) if left else Fault())
        return fault

    def spend_quota(self) -> None:
        if self.quota_remaining is not None:
            self.quota_remaining -= 1

    def enter(self) -> int:
        """Count a request in; the token says which generation it belongs to."""
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return self.generation

    def current(self, token: int) -> bool:
        """Whether a request began after the last reset (a hung one from before does not)."""
        return token == self.generation

    def leave(self, token: int, outcome: str) -> None:
        if self.current(token):
            self.in_flight -= 1
            self.outcomes[outcome] += 1

    def stats(self) -> dict[str, Any]:
        """Counts and settings only: safe to show anyone."""
        return {
            "requests": self.requests,
            "outcomes": dict(self.outcomes),
            "queries": dict(self.queries),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "quota_remaining": self.quota_remaining,
            "style": self.style.value,
            "fault": self.fault.mode.value,
            "return_fault": self.return_fault.mode.value,
            "return_data": self.ledger.stats(),
        }
