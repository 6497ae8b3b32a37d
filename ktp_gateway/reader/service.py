"""Async face of the reader layer: list readers and read a card without blocking the event loop.

Blocking PC/SC calls run in worker threads, each with its own PC/SC context (pcsc-lite contexts
are not thread-safe). Requests on one reader are serialised: a second one gets `reader_busy`
at once instead of queueing behind a tap that may wait for a card.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from ktp_gateway.errors import ErrorCode, GatewayError, ReaderError
from ktp_gateway.metrics import ReaderState
from ktp_gateway.reader.pairs import ReaderPair, find_pairs
from ktp_gateway.reader.pcsc import PcscContext, ReaderStatus
from ktp_gateway.reader.tap import CardReading, check_sam, read_card
from ktp_gateway.sam.binding import Activations, ActivationStatus
from ktp_gateway.specs import Specs

log = structlog.get_logger("ktp_gateway.reader")


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    """What `GET /v1/readers` shows of one reader pair (never a UID or card data)."""

    name: str
    profile: str
    sam_reader: str
    card_present: bool
    atr: str | None
    sam_present: bool
    busy: bool
    last_error: str | None = None
    activation: ActivationStatus | None = None  # state, agency, validity: never a serial


class ReaderService:
    """Reader pairs found through PC/SC, and taps on them."""

    def __init__(
        self,
        specs: Specs,
        activation: Activations,
        *,
        check_signature: bool = True,
        context_factory: Callable[[], PcscContext] = PcscContext,
    ) -> None:
        self.specs = specs
        self._last_error: dict[str, str] = {}
        self.on_error: Callable[[str, str], None] | None = None  # reader, code: for metrics
        self.activation = activation
        self.check_signature = check_signature
        self._context_factory = context_factory
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, reader: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(reader, threading.Lock())

    def _pairs(self, context: PcscContext) -> list[ReaderPair]:
        return find_pairs(context.list_readers(), self.specs)

    def _statuses(self) -> tuple[list[ReaderPair], dict[str, ReaderStatus]]:
        # Asked of pcscd each time (one non-blocking call): the monitor may lag a poll behind.
        with self._context_factory() as context:
            pairs = self._pairs(context)
            names = [n for pair in pairs for n in (pair.card_reader, pair.sam_reader)]
            return pairs, {s.name: s for s in context.statuses(names)}

    def _list(self) -> list[ReaderInfo]:
        pairs, status = self._statuses()
        return [
            ReaderInfo(
                name=pair.card_reader,
                profile=pair.profile.id,
                sam_reader=pair.sam_reader,
                card_present=status[pair.card_reader].card_present,
                atr=status[pair.card_reader].atr.hex().upper() or None,
                sam_present=status[pair.sam_reader].card_present,
                busy=self._lock(pair.card_reader).locked(),
                last_error=self._last_error.get(pair.card_reader),
                activation=self.activation.status(pair),
            )
            for pair in pairs
        ]

    def activation_snapshot(self) -> list[tuple[str, ActivationStatus]]:
        """Each attached reader's activation, for the metrics collector (at scrape time)."""
        return [(info.name, info.activation) for info in self._list() if info.activation]

    def check_activations(self) -> dict[str, str]:
        """At start: each attached pair's SAM against its activation record (logged, kept)."""
        outcomes: dict[str, str] = {}
        try:
            with self._context_factory() as context:
                for pair in self._pairs(context):
                    outcomes[pair.card_reader] = self._check_pair(context, pair)
        except ReaderError as exc:
            log.warning("sam_activation_check", outcome="skipped", code=exc.code.value)
        for reader, outcome in outcomes.items():
            log.info("sam_activation_check", reader=reader, outcome=outcome)
        return outcomes

    def _check_pair(self, context: PcscContext, pair: ReaderPair) -> str:
        lock = self._lock(pair.card_reader)
        if not lock.acquire(blocking=False):
            return "busy"
        try:
            check_sam(context, pair, self.specs, self.activation)
        except GatewayError as exc:
            return exc.code.value
        finally:
            lock.release()
        return "active"

    def snapshot(self) -> list[ReaderState]:
        """Reader state for the metrics collector (runs in the scrape's thread)."""
        return [
            ReaderState(info.name, info.card_present, "present" if info.sam_present else "absent")
            for info in self._list()
        ]

    async def list_readers(self) -> list[ReaderInfo]:
        """Reader pairs and their state, read fresh from pcscd."""
        return await asyncio.to_thread(self._list)

    def _choose(self, pairs: list[ReaderPair], reader: str | None) -> ReaderPair:
        if not pairs:
            raise ReaderError(
                "no KTP-el reader with a SAM slot is attached", code=ErrorCode.READER_NOT_FOUND
            )
        if reader is None:
            return pairs[0]
        for pair in pairs:
            if pair.card_reader == reader:
                return pair
        raise ReaderError("no such reader, or it has no SAM slot", code=ErrorCode.READER_NOT_FOUND)

    def _read(
        self, reader: str | None, wait_seconds: float, cancel: threading.Event | None = None
    ) -> CardReading:
        with self._context_factory() as context:
            pair = self._choose(self._pairs(context), reader)
            lock = self._lock(pair.card_reader)
            if not lock.acquire(blocking=False):
                raise ReaderError(
                    "the reader is serving another request", code=ErrorCode.READER_BUSY
                )
            try:
                reading = self._tap(context, pair, wait_seconds, cancel)
            except GatewayError as exc:
                self._last_error[pair.card_reader] = exc.code.value
                if self.on_error is not None:
                    self.on_error(pair.card_reader, exc.code.value)
                raise
            finally:
                lock.release()
            self._last_error.pop(pair.card_reader, None)
            return reading

    def _tap(
        self,
        context: PcscContext,
        pair: ReaderPair,
        wait_seconds: float,
        cancel: threading.Event | None = None,
    ) -> CardReading:
        started = time.perf_counter()
        if not context.wait_for_card(pair.card_reader, wait_seconds, cancelled=cancel):
            raise ReaderError("no card was placed on the reader in time", code=ErrorCode.NO_CARD)
        waited = time.perf_counter() - started
        reading = read_card(
            context, pair, self.specs, self.activation, check_signature=self.check_signature
        )
        return replace(reading, waited_seconds=waited)

    async def read(
        self,
        reader: str | None = None,
        *,
        wait_seconds: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> CardReading:
        """Wait up to `wait_seconds` for a card on `reader` (default: the first), then read it.

        Setting `cancel` stops the wait within one PC/SC slice (the thread cannot be killed).
        """
        return await asyncio.to_thread(self._read, reader, wait_seconds, cancel)
