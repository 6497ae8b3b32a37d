"""One tap run on behalf of an access: the wait rule, the audit facts, the metrics, in one place.

Verifications, their async jobs and claims verified by card all tap the same way; the routes only
translate HTTP to a call of `Taps.verify` and its `Verification` back to HTTP.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from ktp_gateway.domain import Registry
from ktp_gateway.errors import GatewayError
from ktp_gateway.privacy.policy import Access
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.verification.tap import Verification, verify_tap


class TapObserver(Protocol):
    """What a tap reports to the metrics (observability.metrics.GatewayMetrics is one)."""

    def card_read(self, reading: CardReading) -> None: ...

    def verification(self, *, outcome: str, code: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WaitRule:
    """How long a tap waits for a card: the caller's wish, or the default, never over the cap."""

    default_seconds: float
    max_seconds: float

    def seconds(self, requested: float | None) -> float:
        wait = self.default_seconds if requested is None else requested
        return min(wait, self.max_seconds)


class Taps:
    """Card taps for the API: readers and registry wired once, used by every tapping route."""

    def __init__(
        self, readers: ReaderService, registry: Registry, observer: TapObserver, wait: WaitRule
    ) -> None:
        self.readers, self.registry = readers, registry
        self.observer, self.wait = observer, wait

    async def verify(
        self,
        access: Access,
        *,
        reader: str | None,
        wait_seconds: float | None,
        cancel: threading.Event | None = None,
    ) -> Verification:
        """Read the card on `reader` and ask the registry, noting in `access` what happened."""
        access.reader = reader
        try:
            result = await verify_tap(
                self.readers,
                access.registry(self.registry),
                reader=reader,
                wait_seconds=self.wait.seconds(wait_seconds),
                cancel=cancel,
            )
        except GatewayError as exc:
            self.observer.verification(outcome="error", code=exc.code.value)
            access.card_read = access.registry_queried  # the registry is asked after a read
            raise
        access.card_read, access.reader = True, result.card.reader
        self.observer.card_read(result.card)
        self.observer.verification(outcome=result.outcome.value, code="")
        return result
