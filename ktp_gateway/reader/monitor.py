"""One PC/SC monitor for every reader: ordered, typed events, and a watchdog that never gives up.

It starts from the current state, then reports reader attached -> card inserted -> card removed
-> reader detached for every reader. When pcscd stops or restarts, or the context becomes
invalid, it reports every reader as gone, rebuilds the context with backoff and rediscovers the
readers, so the gateway never needs a restart because a reader or pcscd hiccupped. Its own state
is visible (`health`) so it can never die silently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from ktp_gateway.errors import ReaderError
from ktp_gateway.reader.smartcard.pcsc import PNP_NOTIFICATION, PcscContext, SlotEvent

log = structlog.get_logger("ktp_gateway.reader.monitor")

WATCH_TIMEOUT_MS = 1000  # bounds how long a stop or a silent pcscd death goes unnoticed
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 5.0


class EventKind(StrEnum):
    READER_ATTACHED = "reader_attached"
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"
    READER_DETACHED = "reader_detached"
    MONITOR_DOWN = "monitor_down"
    MONITOR_UP = "monitor_up"
    DESK_CONNECTED = "desk_connected"  # an access point's desk agent (docs/desks.md)
    DESK_DISCONNECTED = "desk_disconnected"


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    """One change, numbered in the order it happened (per monitor)."""

    seq: int
    kind: EventKind
    reader: str | None
    at: float
    atr: str | None = None
    code: str | None = None
    desk: str | None = None  # the desk whose reader it is; None: this machine's own
    family: str | None = None  # "integrated" for a serial reader; None: PC/SC


@dataclass(frozen=True, slots=True)
class SlotState:
    """A PC/SC reader slot as the monitor last saw it."""

    name: str
    card_present: bool
    atr: bytes


class MonitorState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class MonitorHealth:
    state: MonitorState
    context_resets: int
    last_error: str | None
    events: int


Listener = Callable[[ReaderEvent], None]


class SlotEvents:
    """Slots and listeners, and numbered events to them: what both monitors (PC/SC, and the
    serial family's poller) share. A listener is called from the monitor's thread."""

    family: str | None = None  # its events' family: None for PC/SC

    def __init__(self) -> None:
        self._slots: dict[str, SlotState] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._seq = 0

    def add_listener(self, listener: Listener) -> None:
        """Called from the monitor thread for each event; must be quick and must not raise."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def slots(self) -> dict[str, SlotState]:
        with self._lock:
            return dict(self._slots)

    def _set(self, slot: SlotState, kind: EventKind) -> None:
        with self._lock:
            self._slots[slot.name] = slot
        self._emit(kind, slot.name, atr=slot.atr.hex().upper() or None)

    def _drop(self, name: str) -> None:
        with self._lock:
            self._slots.pop(name, None)
        self._emit(EventKind.READER_DETACHED, name)

    def _emit(
        self,
        kind: EventKind,
        reader: str | None,
        *,
        atr: str | None = None,
        code: str | None = None,
    ) -> None:
        with self._lock:
            self._seq += 1
            event = ReaderEvent(self._seq, kind, reader, time.time(), atr, code, family=self.family)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the monitor
                log.error("reader event listener failed", error_type="listener")


class ReaderMonitor(SlotEvents):
    """A background thread that watches every PC/SC reader and reports changes to listeners."""

    def __init__(
        self,
        *,
        context_factory: Callable[[], PcscContext] = PcscContext,
        watch_timeout_ms: int = WATCH_TIMEOUT_MS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        super().__init__()
        self._context_factory = context_factory
        self._watch_timeout_ms = watch_timeout_ms
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._context: PcscContext | None = None
        self._thread: threading.Thread | None = None
        self._state = MonitorState.STARTING
        self._resets = 0
        self._last_error: str | None = None

    def health(self) -> MonitorHealth:
        with self._lock:
            return MonitorHealth(self._state, self._resets, self._last_error, self._seq)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread: wake its blocking wait with SCardCancel, then join it."""
        self._stop.set()
        context = self._context
        if context is not None:
            context.cancel()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._state = MonitorState.STOPPED

    def wait_until(self, predicate: Callable[[dict[str, SlotState]], bool], timeout: float) -> bool:
        """Poll the slots until `predicate` holds (for callers that need a settled state)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.slots()):
                return True
            time.sleep(0.02)
        return predicate(self.slots())

    # the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stop.is_set():
            try:
                with self._context_factory() as context:
                    self._context = context
                    self._up()
                    backoff = FIRST_BACKOFF_SECONDS
                    self._watch(context)
            except ReaderError as exc:
                if self._stop.is_set():
                    break
                self._down(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            except Exception as exc:  # the monitor must never die silently
                log.error("reader monitor failed", error_type=type(exc).__name__)
                self._down(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            finally:
                self._context = None

    def _up(self) -> None:
        with self._lock:
            was_down = self._state is MonitorState.RECONNECTING
            self._state = MonitorState.RUNNING
            self._last_error = None
        if was_down:
            self._emit(EventKind.MONITOR_UP, None)

    def _down(self, exc: Exception) -> None:
        code = getattr(getattr(exc, "code", None), "value", type(exc).__name__)
        with self._lock:
            first = self._state is not MonitorState.RECONNECTING
            self._state = MonitorState.RECONNECTING
            self._resets += 1
            self._last_error = str(code)
        self._sync([])  # every reader is gone until the context is back
        if first:
            log.warning("PC/SC context lost; rebuilding", code=code)
            self._emit(EventKind.MONITOR_DOWN, None, code=str(code))

    def _watch(self, context: PcscContext) -> None:
        names = context.list_readers()
        self._sync(names)
        states = {name: 0 for name in names}  # 0: unaware, answer at once with the truth
        states[PNP_NOTIFICATION] = 0
        while not self._stop.is_set():
            changes = context.watch(list(states.items()), self._watch_timeout_ms)
            if changes is None:
                continue
            relist = False
            for change in changes:
                if change.name == PNP_NOTIFICATION:
                    relist = relist or change.changed
                elif change.gone:
                    relist = True
                else:
                    self._update(change)
                states[change.name] = change.settled
            if relist:
                names = context.list_readers()
                self._sync(names)
                states = {name: states.get(name, 0) for name in [*names, PNP_NOTIFICATION]}

    # state and events -----------------------------------------------------------------------

    def _sync(self, names: list[str]) -> None:
        """Attach new readers, detach missing ones (their card first), in order."""
        known = self.slots()
        for name in known.keys() - set(names):
            if known[name].card_present:
                self._set(SlotState(name, False, b""), EventKind.CARD_REMOVED)
            self._drop(name)
        for name in names:
            if name not in known:
                self._set(SlotState(name, False, b""), EventKind.READER_ATTACHED)

    def _update(self, change: SlotEvent) -> None:
        before = self.slots().get(change.name)
        if before is None:
            return
        if change.present and not before.card_present:
            self._set(SlotState(change.name, True, change.atr), EventKind.CARD_INSERTED)
        elif before.card_present and (not change.present or change.atr != before.atr):
            self._set(SlotState(change.name, False, b""), EventKind.CARD_REMOVED)
            if change.present:  # swapped between two polls: the new card is in
                self._set(SlotState(change.name, True, change.atr), EventKind.CARD_INSERTED)
