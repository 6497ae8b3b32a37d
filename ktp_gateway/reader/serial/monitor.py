"""Events of the integrated readers: a thread that scans the serial ports and reports changes.

The vendor protocol has no event channel, so the state is polled (`interval`, 1 s by default):
each scan is compared with the last and reported as the PC/SC monitor reports its readers,
attached -> card inserted -> card removed -> detached, with `family` "integrated". The listener
interface is the PC/SC monitor's, so the SSE stream and `readers --watch` take both alike.
"""

from __future__ import annotations

import threading

import structlog

from ktp_gateway.reader.monitor import EventKind, SlotEvents, SlotState
from ktp_gateway.reader.serial.service import FAMILY, IntegratedReaders

log = structlog.get_logger("ktp_gateway.reader.serial")

POLL_SECONDS = 1.0


class SerialMonitor(SlotEvents):
    """Polls the integrated readers in the background and reports each change to listeners."""

    family: str | None = FAMILY

    def __init__(self, readers: IntegratedReaders, *, interval: float = POLL_SECONDS) -> None:
        super().__init__()
        self.readers = readers
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="serial-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)

    def poll_once(self) -> None:
        """One scan, its changes reported (the thread's step; tests call it directly)."""
        try:
            state = self.readers.scan()
        except Exception as exc:  # the monitor must never die silently
            self.failures += 1
            log.error("serial monitor scan failed", error_type=type(exc).__name__)
            return
        now = {info.name: info.card_present for info in state}
        before = self.slots()
        for name in sorted(before.keys() - now.keys()):
            if before[name].card_present:
                self._set(SlotState(name, False, b""), EventKind.CARD_REMOVED)
            self._drop(name)
        for name, present in sorted(now.items()):
            if name not in before:
                self._set(SlotState(name, False, b""), EventKind.READER_ATTACHED)
            if present != (name in before and before[name].card_present):
                kind = EventKind.CARD_INSERTED if present else EventKind.CARD_REMOVED
                self._set(SlotState(name, present, b""), kind)
