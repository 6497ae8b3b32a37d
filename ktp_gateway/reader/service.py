"""Async face of the reader layer: list readers and read a card without blocking the event loop.

Two families sit behind it: PC/SC readers paired with a SAM slot, and integrated readers on a
serial port (reader/serial/service.py), chosen by the reader's name. A tap is chosen and its
reader claimed in one hop to a small pool of choosing threads; it then runs on its reader's one
worker thread. Each of those threads keeps its own PC/SC context (pcsc-lite contexts are not
thread-safe; making one per tap cost two round trips to pcscd), so taps on different readers run
in parallel and never block the event loop. Requests on one reader are serialised: a second one
gets `reader_busy` at once instead of queueing behind a tap that may wait for a card. A tap
answers as soon as the card is read; its worker resets the card and SAM slots meanwhile, and
the next tap on that reader waits for the reset rather than being refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import structlog

from ktp_gateway.domain import HolderAsk, HolderCheck, HolderResult
from ktp_gateway.errors import ErrorCode, GatewayError, ReaderError
from ktp_gateway.reader.card.sam_hold import SamHold
from ktp_gateway.reader.card.tap import CardReading, check_sam, read_card
from ktp_gateway.reader.serial.service import FAMILY as INTEGRATED
from ktp_gateway.reader.serial.service import IntegratedInfo, IntegratedReaders
from ktp_gateway.reader.smartcard.kept import KeptContexts
from ktp_gateway.reader.smartcard.pairs import ReaderPair, find_pairs
from ktp_gateway.reader.smartcard.pcsc import PcscContext, ReaderStatus
from ktp_gateway.sam.binding import Activations, ActivationState, ActivationStatus
from ktp_gateway.specs import Specs

log = structlog.get_logger("ktp_gateway.reader")

PCSC = "pcsc"
INTEGRATED_STATE_SECONDS = 2.0  # /v1/readers rescans the serial ports when older than this
# A tap polls the known integrated readers each time, but looks for new ones on the serial ports
# (a glob of /dev) only when the last look is older than this: the serial monitor's own period.
SERIAL_DISCOVERY_SECONDS = 1.0
CHOOSING_THREADS = 4  # taps choosing a reader at once; each thread keeps a PC/SC context
# A tap answers before its worker has reset the card and SAM slots; the next tap on that reader
# waits for the reset (half a millisecond) instead of being told the reader is busy.
CLOSING_WAIT_SECONDS = 2.0
CLOSE_RELEASE_SECONDS = 0.5  # at shutdown, how long to wait for idle workers to let SAMs go


@dataclass(frozen=True, slots=True)
class ReaderState:
    """One reader pair as the metrics collector reports it (`attached` last: older callers omit
    it)."""

    reader: str
    card_present: bool
    sam_state: str
    attached: bool = True


# A reader whose last tap failed with one of these has a SAM in trouble (`sam_state` "error").
SAM_FAULTS = frozenset(
    {
        ErrorCode.SAM_UNAVAILABLE.value,
        ErrorCode.SAM_ERROR.value,
        ErrorCode.SAM_LOCKED.value,
        ErrorCode.SAM_NOT_ACTIVATED.value,
        ErrorCode.SAM_READER_MISMATCH.value,
        ErrorCode.SAM_ACTIVATION_EXPIRED.value,
    }
)


def sam_state(present: bool, last_error: str | None, activation: ActivationStatus | None) -> str:
    """absent, present, open or error: what the SAM slot holds, as far as the gateway knows."""
    if not present:
        return "absent"
    if last_error in SAM_FAULTS:
        return "error"
    if activation is not None and activation.state is ActivationState.ACTIVE:
        return "open"
    return "present"


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    """What `GET /v1/readers` shows of one reader pair (never a UID or card data)."""

    name: str
    profile: str
    sam_reader: str | None  # None: an integrated reader (its SAM is inside the device)
    card_present: bool
    atr: str | None
    sam_present: bool
    busy: bool
    last_error: str | None = None
    activation: ActivationStatus | None = None  # state, agency, validity: never a serial
    family: str = PCSC
    holder_checks: tuple[str, ...] = ()  # what the reader can match on the device

    @classmethod
    def integrated(cls, info: IntegratedInfo) -> ReaderInfo:
        return cls(
            name=info.name,
            profile=info.profile,
            sam_reader=None,
            card_present=info.card_present,
            atr=None,
            sam_present=True,
            busy=info.busy,
            last_error=info.last_error,
            family=INTEGRATED,
            holder_checks=("fingerprint",),
        )

    @property
    def sam_state(self) -> str:
        return sam_state(self.sam_present, self.last_error, self.activation)


class ReaderService:
    """Reader pairs found through PC/SC, and taps on them."""

    def __init__(
        self,
        specs: Specs,
        activation: Activations,
        *,
        check_signature: bool = True,
        card_timeout: float = 10.0,
        context_factory: Callable[[], PcscContext] = PcscContext,
        only: frozenset[str] = frozenset(),
        integrated: IntegratedReaders | None = None,
        sam_hold_seconds: float = 0.0,  # the settings' reader.sam_hold_seconds; 0: per tap
    ) -> None:
        self.specs = specs
        self.integrated = integrated  # the serial family; None: PC/SC only
        self.card_timeout = card_timeout
        self._last_error: dict[str, str] = {}
        self.on_error: Callable[[str, str], None] | None = None  # reader, code: for metrics
        self.activation = activation
        self.sams = SamHold(specs, activation, sam_hold_seconds)  # used on each reader's worker
        self._idle_timers: set[str] = set()  # readers whose held SAM a timer looks at
        self.check_signature = check_signature
        self._context_factory = context_factory
        self._contexts = KeptContexts(context_factory)  # the choosing and reader threads' own
        self.only = only  # card-reader names to serve; empty: every pair pcscd lists
        self._locks: dict[str, threading.Lock] = {}
        self._closing: set[str] = set()  # readers whose tap has answered and is resetting slots
        self._workers: dict[str, ThreadPoolExecutor] = {}
        self._choosers: ThreadPoolExecutor | None = None
        self._locks_guard = threading.Lock()

    def _lock(self, reader: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(reader, threading.Lock())

    def _worker(self, reader: str) -> ThreadPoolExecutor:
        """The reader's own thread: its taps run there, one at a time."""
        with self._locks_guard:
            worker = self._workers.get(reader)
            if worker is None:
                worker = ThreadPoolExecutor(1, thread_name_prefix=f"reader-{len(self._workers)}")
                self._workers[reader] = worker
            return worker

    def _choosing(self) -> ThreadPoolExecutor:
        """The threads that choose a tap's reader and claim it (one hop per tap)."""
        with self._locks_guard:
            if self._choosers is None:
                self._choosers = ThreadPoolExecutor(
                    CHOOSING_THREADS, thread_name_prefix="reader-choice"
                )
            return self._choosers

    def close(self) -> None:
        """Stop the reader threads after their current tap (at shutdown); a thread's PC/SC
        context is released as it ends."""
        with self._locks_guard:
            workers_by_reader, self._workers = self._workers, {}
            workers = list(workers_by_reader.values())
            if self._choosers is not None:
                workers.append(self._choosers)
                self._choosers = None
        # Each held SAM let go on its worker (at once when idle); one a tap still uses is let
        # go by the tap's end. Not left to the threads' ends: a traceback may keep a context.
        letting_go = self.sams.close()
        releases = [
            worker.submit(self.sams.let_go, reader)
            for reader, worker in workers_by_reader.items()
            if reader in letting_go
        ]
        concurrent.futures.wait(releases, timeout=CLOSE_RELEASE_SECONDS)
        for worker in workers:
            worker.shutdown(wait=False, cancel_futures=True)
        if self.integrated is not None:
            self.integrated.close()

    def _integrated_list(self) -> list[ReaderInfo]:
        if self.integrated is None:
            return []
        state = self.integrated.current(INTEGRATED_STATE_SECONDS)
        return [ReaderInfo.integrated(info) for info in state]

    def _pairs(self, context: PcscContext) -> list[ReaderPair]:
        pairs = find_pairs(context.list_readers(), self.specs)
        return [p for p in pairs if p.card_reader in self.only] if self.only else pairs

    def _statuses_in(
        self, context: PcscContext
    ) -> tuple[list[ReaderPair], dict[str, ReaderStatus]]:
        # Asked of pcscd each time (one non-blocking call): the monitor may lag a poll behind.
        pairs = self._pairs(context)
        names = [n for pair in pairs for n in (pair.card_reader, pair.sam_reader)]
        return pairs, {s.name: s for s in context.statuses(names)}

    def _statuses(self) -> tuple[list[ReaderPair], dict[str, ReaderStatus]]:
        """Off the tap path (a listing, a scrape): a context of its own, released after."""
        with self._context_factory() as context:
            return self._statuses_in(context)

    def _list(self) -> list[ReaderInfo]:
        return self._pcsc_list() + self._integrated_list()

    def _pcsc_list(self) -> list[ReaderInfo]:
        try:
            pairs, status = self._statuses()
        except ReaderError:
            if self.integrated is None:
                raise
            pairs, status = [], {}  # pcscd down: the serial family is still listed
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
        return [(info.name, info.activation) for info in self._pcsc_list() if info.activation]

    def check_activations(self) -> dict[str, str]:
        """At start: each attached pair's SAM against its activation record (logged, kept)."""
        outcomes: dict[str, str] = {}
        if self.integrated is not None:
            self.integrated.scan()  # found before the first request
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

    def pcsc_snapshot(self) -> list[ReaderState]:
        """PC/SC reader state for the metrics collector (the scrape's thread); raises when
        pcscd cannot be asked."""
        pairs, status = self._statuses()
        return [
            ReaderState(
                pair.card_reader,
                status[pair.card_reader].card_present,
                sam_state(
                    status[pair.sam_reader].card_present,
                    self._last_error.get(pair.card_reader),
                    self.activation.status(pair),
                ),
            )
            for pair in pairs
        ]

    def integrated_snapshot(self) -> list[ReaderState]:
        """Integrated reader state for the metrics collector, pcscd or not."""
        return [
            ReaderState(info.name, info.card_present, info.sam_state)
            for info in self._integrated_list()
        ]

    async def list_readers(self) -> list[ReaderInfo]:
        """Reader pairs and their state, read fresh from pcscd."""
        return await asyncio.to_thread(self._list)

    def _choose(self, reader: str | None, holder: HolderAsk | None) -> ReaderPair | None:
        """On a choosing thread: None when the tap goes to the serial family, else the PC/SC
        pair, its lock taken (the tap releases it)."""
        if self._goes_serial(reader, holder):
            return None
        if holder is not None and holder.required:
            raise ReaderError(
                "a PC/SC reader cannot match the holder's finger",
                code=ErrorCode.HOLDER_CHECK_UNAVAILABLE,
            )
        return self._claim(reader)

    def _claim(self, reader: str | None) -> ReaderPair:
        """Choose the reader for a tap and take its lock (the tap releases it)."""
        pairs, status = self._contexts.query(self._statuses_in)
        if not pairs:
            raise ReaderError(
                "no KTP-el reader with a SAM slot is attached", code=ErrorCode.READER_NOT_FOUND
            )
        if reader is not None:
            chosen = [p for p in pairs if p.card_reader == reader]
            if not chosen:
                raise ReaderError(
                    "no such reader, or it has no SAM slot", code=ErrorCode.READER_NOT_FOUND
                )
        else:
            # No reader named: one already holding a card, else one with its SAM in, else any.
            chosen = sorted(
                pairs,
                key=lambda p: (
                    not status[p.card_reader].card_present,
                    not status[p.sam_reader].card_present,
                ),
            )
        for pair in chosen:
            if self._take(pair.card_reader):
                return pair
        raise ReaderError("the reader is serving another request", code=ErrorCode.READER_BUSY)

    def _take(self, reader: str) -> bool:
        """The reader's lock now; or, when its last tap has answered and only resets the slots,
        as soon as that ends."""
        lock = self._lock(reader)
        if lock.acquire(blocking=False):
            return True
        return reader in self._closing and lock.acquire(timeout=CLOSING_WAIT_SECONDS)

    def _read(
        self,
        pair: ReaderPair,
        wait_seconds: float,
        cancel: threading.Event | None = None,
        deliver: Callable[[CardReading], None] | None = None,
    ) -> CardReading:
        """On the reader's worker, holding its lock (released here, whatever happens)."""
        reader = pair.card_reader
        try:
            reading = self._tap(pair, wait_seconds, cancel, deliver)
        except GatewayError as exc:
            self._note_error(pair, exc.code)
            raise
        finally:
            self._lock(reader).release()  # before the flag: a waiting claim takes it at once
            self._closing.discard(reader)
        self._last_error.pop(reader, None)
        return reading

    def _unclaim(self, claim: asyncio.Future[ReaderPair | None]) -> None:
        if not claim.cancelled() and claim.exception() is None:
            pair = claim.result()
            if pair is not None:
                self._lock(pair.card_reader).release()

    def _note_error(self, pair: ReaderPair, code: ErrorCode) -> None:
        self._last_error[pair.card_reader] = code.value
        if self.on_error is not None:
            self.on_error(pair.card_reader, code.value)

    def _tap(
        self,
        pair: ReaderPair,
        wait_seconds: float,
        cancel: threading.Event | None = None,
        deliver: Callable[[CardReading], None] | None = None,
    ) -> CardReading:
        """On the reader's worker, with the context it keeps (the wait renews a stale one).
        `deliver` gets the reading before the slots are reset."""
        started = time.perf_counter()
        present = self._contexts.query(
            lambda context: context.wait_for_card(pair.card_reader, wait_seconds, cancelled=cancel)
        )
        if not present:
            raise ReaderError("no card was placed on the reader in time", code=ErrorCode.NO_CARD)
        waited = time.perf_counter() - started

        def answer(reading: CardReading) -> None:
            self._closing.add(pair.card_reader)
            if deliver is not None:
                deliver(replace(reading, waited_seconds=waited))

        reading = self._contexts.use(
            lambda context: read_card(
                context,
                pair,
                self.specs,
                self.activation,
                check_signature=self.check_signature,
                on_read=answer,
                sams=self.sams,
            )
        )
        self._hold_until_idle(pair.card_reader)  # the SAM kept by the tap's end, if at all
        return replace(reading, waited_seconds=waited)

    def _hold_until_idle(self, reader: str) -> None:
        """On the reader's worker, after a tap: one timer per reader with a SAM held looks again
        when the hold would end. A thread timer, not the event loop's: a loop that closes (or a
        service never closed) must not keep a SAM held."""
        with self._locks_guard:
            if not self.sams.held(reader) or reader in self._idle_timers:
                return
            self._idle_timers.add(reader)
        self._look_in(reader, self.sams.hold_seconds)

    def _look_in(self, reader: str, seconds: float) -> None:
        timer = threading.Timer(seconds, self._let_go_if_idle, (reader,))
        timer.daemon = True
        timer.start()

    def _let_go_if_idle(self, reader: str) -> None:
        """On the timer's thread: the look itself runs on the reader's worker."""
        with self._locks_guard:
            worker = self._workers.get(reader)
            try:
                if worker is None:
                    raise RuntimeError("closed")  # close() let the SAM go
                worker.submit(self._release_idle, reader)
            except RuntimeError:
                self._idle_timers.discard(reader)

    def _release_idle(self, reader: str) -> None:
        """On the reader's worker: let go of an idle SAM, or look again when it would be."""
        left = self.sams.let_go_idle(reader)
        if left > 0:
            self._look_in(reader, left)
            return
        log.debug("sam_let_go", reader=reader)
        with self._locks_guard:
            self._idle_timers.discard(reader)

    async def read(
        self,
        reader: str | None = None,
        *,
        wait_seconds: float = 0.0,
        cancel: threading.Event | None = None,
        holder: HolderAsk | None = None,
    ) -> CardReading:
        """Wait up to `wait_seconds` for a card on `reader`, then read it.

        With no reader named, a free reader is chosen: one holding a card first (with a required
        holder check, an integrated one). Setting `cancel` stops the wait within one PC/SC slice
        (the thread cannot be killed). A read still going `card_timeout` seconds after the wait
        is a mute card: the caller gets `card_timeout`, and the reader stays busy until the
        blocked PC/SC call returns (the card is lifted). `holder`: the holder check to run, which
        only an integrated reader can (a PC/SC tap: `not_attempted`, or refused if required).
        """
        # One hop chooses the family and, for PC/SC, claims the reader (its lock taken there).
        run = contextvars.copy_context().run
        claim = asyncio.wrap_future(self._choosing().submit(run, self._choose, reader, holder))
        try:
            pair = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # The caller is gone but the claim's thread runs on and may take the lock: free it.
            claim.add_done_callback(self._unclaim)
            raise
        if pair is None:
            return await self._read_integrated(reader, wait_seconds, cancel, holder)
        reading = await self._read_pcsc(pair, wait_seconds, cancel)
        if holder is None:
            return reading
        return replace(reading, holder=HolderCheck(result=HolderResult.NOT_ATTEMPTED))

    def _goes_serial(self, reader: str | None, holder: HolderAsk | None) -> bool:
        """Whether the tap goes to the serial family: named there, needed, its card on, or the
        only family attached."""
        serial = self.integrated
        if serial is None:
            return False
        if reader is not None:
            if reader in serial.names():
                return True
            if self._is_pcsc(reader):
                return False  # not worth a look at every serial port and reader
            return any(info.name == reader for info in serial.scan())  # plugged in just now?
        if holder is not None and holder.required:
            return True
        # Is a card on one of them now? Polls the found readers (cheap); the ports are looked
        # at again only when the last look is older than the serial monitor's period.
        known = serial.refresh(SERIAL_DISCOVERY_SECONDS)
        if any(info.card_present and not info.busy for info in known):
            return True
        if not known:
            return False
        try:
            pairs, _ = self._contexts.query(self._statuses_in)
        except ReaderError:
            return True
        return not pairs

    def _is_pcsc(self, reader: str) -> bool:
        """Whether `reader` is one of this machine's PC/SC pairs (pcscd down: not known)."""
        try:
            return any(pair.card_reader == reader for pair in self._contexts.query(self._pairs))
        except ReaderError:
            return False

    async def _read_integrated(
        self,
        reader: str | None,
        wait_seconds: float,
        cancel: threading.Event | None,
        holder: HolderAsk | None,
    ) -> CardReading:
        serial = self.integrated
        assert serial is not None  # noqa: S101  (chosen by _integrated_choice)
        claim = asyncio.ensure_future(asyncio.to_thread(serial.claim, reader))
        try:
            name = await asyncio.shield(claim)
        except asyncio.CancelledError:
            claim.add_done_callback(
                lambda done: (
                    serial.release(done.result())
                    if not done.cancelled() and done.exception() is None
                    else None
                )
            )
            raise
        # Every device call has its own deadline: the thread ends on its own, lock released.
        return await asyncio.to_thread(serial.read, name, wait_seconds, cancel, holder)

    async def _read_pcsc(
        self, pair: ReaderPair, wait_seconds: float, cancel: threading.Event | None
    ) -> CardReading:
        lock = self._lock(pair.card_reader)
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[CardReading] = loop.create_future()

        def deliver(reading: CardReading) -> None:  # on the worker, before the slots are reset
            loop.call_soon_threadsafe(_settle, answered, reading)

        try:
            # With the caller's context, like asyncio.to_thread: the wipe scope, the request id.
            run = contextvars.copy_context().run
            job = self._worker(pair.card_reader).submit(
                run, self._read, pair, wait_seconds, cancel, deliver
            )
        except BaseException:
            lock.release()  # never submitted: nobody else would release it
            raise
        # A job cancelled before it started (its caller gone, or shutdown) releases the lock here.
        job.add_done_callback(lambda done: lock.release() if done.cancelled() else None)
        finished = asyncio.wrap_future(job)
        try:
            async with asyncio.timeout(wait_seconds + self.card_timeout):
                await asyncio.wait((answered, finished), return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            finished.cancel()
            self._note_error(pair, ErrorCode.CARD_TIMEOUT)
            log.warning("card_timeout", reader=pair.card_reader, seconds=self.card_timeout)
            raise ReaderError("the card stopped answering", code=ErrorCode.CARD_TIMEOUT) from None
        except asyncio.CancelledError:
            finished.cancel()  # a job not yet started never starts (its lock released above)
            raise
        if answered.done():  # the reading as soon as it is there; the worker resets the slots
            finished.add_done_callback(_ended)
            return answered.result()
        return finished.result()


def _settle(future: asyncio.Future[CardReading], reading: CardReading) -> None:
    if not future.done():
        future.set_result(reading)


def _ended(job: asyncio.Future[CardReading]) -> None:
    """A tap that already answered: how its slot reset ended is nobody's to wait for."""
    if not job.cancelled():
        job.exception()
