"""One tap run on behalf of an access: the wait rule, the audit facts, the metrics, in one place.

Verifications, their async jobs and claims verified by card all tap the same way; the routes only
translate HTTP to a call of `Taps.verify` and its `Verification` back to HTTP.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from ktp_gateway.domain import GrantedField, HolderAsk, Registry
from ktp_gateway.errors import DeskError, ErrorCode, GatewayError, ReaderError
from ktp_gateway.privacy.policy import Access
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.verification.tap import CardSource, Verification, verify_tap


class TapObserver(Protocol):
    """What a tap reports to the metrics (observability.metrics.GatewayMetrics is one)."""

    def card_read(self, reading: CardReading) -> None: ...

    def verification(self, *, outcome: str, code: str) -> None: ...


class DeskRouter(Protocol):
    """The access point's desks (desks.remote.DeskRoutes): a desk's readers as a card source."""

    def reader_at(
        self, desk: str, *, fields: frozenset[GrantedField], photo: bool
    ) -> CardSource: ...


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
        self,
        readers: CardSource | None,
        registry: Registry,
        observer: TapObserver,
        wait: WaitRule,
        *,
        desks: DeskRouter | None = None,
    ) -> None:
        self.readers, self.registry, self.desks = readers, registry, desks
        self.observer, self.wait = observer, wait

    def _source(self, access: Access, desk: str | None, photo: bool) -> CardSource:
        """This machine's readers, or the named desk's (asked for the released fields only)."""
        if desk is None:
            if self.readers is None:
                raise ReaderError("this gateway has no readers", code=ErrorCode.READER_NOT_FOUND)
            return self.readers
        if self.desks is None:
            raise DeskError("this access point has no desk channel", code=ErrorCode.DESKS_DISABLED)
        # A claim by card needs only the NIK from the card; a verification its effective fields.
        fields = access.effective if access.effective is not None else frozenset()
        return self.desks.reader_at(desk, fields=fields, photo=photo)

    async def verify(
        self,
        access: Access,
        *,
        reader: str | None,
        wait_seconds: float | None,
        cancel: threading.Event | None = None,
        desk: str | None = None,
        photo: bool = False,
        holder: HolderAsk | None = None,
    ) -> Verification:
        """Read the card on `reader` (at `desk`, if named) and ask the registry, noting in
        `access` what happened."""
        access.reader, access.desk = _where(desk, reader), desk
        try:
            result = await verify_tap(
                self._source(access, desk, photo),
                access.registry(self.registry),
                reader=reader,
                wait_seconds=self.wait.seconds(wait_seconds),
                cancel=cancel,
                holder=holder,
            )
        except GatewayError as exc:
            if exc.code is ErrorCode.HOLDER_CHECK_UNAVAILABLE:
                access.holder_check = "unavailable"  # asked, required, impossible: counted too
            self.observer.verification(outcome="error", code=exc.code.value)
            access.card_read = access.registry_queried  # the registry is asked after a read
            raise
        access.card_read = True
        access.holder_check = result.card.holder.result.value if result.card.holder else None
        # At a desk the reader is named with it: the report counts incidents per physical reader.
        access.reader = _where(desk, result.card.reader)
        self.observer.card_read(result.card)
        self.observer.verification(outcome=result.outcome.value, code="")
        return result


def _where(desk: str | None, reader: str | None) -> str | None:
    """The reader as the audit trail names it: at a desk, `desk/reader` (or the desk alone)."""
    if desk is None:
        return reader
    return f"{desk}/{reader}" if reader else desk
