"""The reader monitor through the real pcscd: ordered events, and surviving a pcscd restart."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from ktp_gateway.reader.monitor import EventKind, MonitorState, ReaderEvent, ReaderMonitor
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, SAM_READER, VirtualReaderPair

pytestmark = pytest.mark.pcsc


class Recorder:
    def __init__(self) -> None:
        self.events: list[ReaderEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: ReaderEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def kinds(self, reader: str | None = None) -> list[EventKind]:
        return [e.kind for e in self.events if reader is None or e.reader == reader]

    def wait_for(
        self, kind: EventKind, reader: str | None = None, timeout: float = 10
    ) -> ReaderEvent:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events:
                    if event.kind is kind and (reader is None or event.reader == reader):
                        return event
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {kind} for {reader}; saw {self.kinds()}"
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._changed:
            self.events.clear()


@pytest.fixture
def monitor(pcscd_service: PcscdService) -> Iterator[tuple[ReaderMonitor, Recorder]]:
    recorder = Recorder()
    monitor = ReaderMonitor(watch_timeout_ms=300, max_backoff=0.5)
    monitor.add_listener(recorder)
    yield monitor, recorder
    monitor.stop()


def test_starts_from_the_current_state(
    reader_pair: VirtualReaderPair, monitor: tuple[ReaderMonitor, Recorder]
) -> None:
    reader_pair.place("budi")
    watcher, events = monitor
    watcher.start()
    inserted = events.wait_for(EventKind.CARD_INSERTED, CARD_READER)
    events.wait_for(EventKind.CARD_INSERTED, SAM_READER)
    assert events.kinds(CARD_READER)[:2] == [EventKind.READER_ATTACHED, EventKind.CARD_INSERTED]
    assert inserted.atr is not None and inserted.atr.startswith("3B88")
    assert watcher.health().state is MonitorState.RUNNING


def test_orders_insert_and_remove(
    reader_pair: VirtualReaderPair, monitor: tuple[ReaderMonitor, Recorder]
) -> None:
    watcher, events = monitor
    watcher.start()
    events.wait_for(EventKind.CARD_INSERTED, SAM_READER)
    events.clear()
    reader_pair.place("siti")
    events.wait_for(EventKind.CARD_INSERTED, CARD_READER)
    reader_pair.remove()
    events.wait_for(EventKind.CARD_REMOVED, CARD_READER)
    assert events.kinds(CARD_READER) == [EventKind.CARD_INSERTED, EventKind.CARD_REMOVED]
    seqs = [e.seq for e in events.events]
    assert seqs == sorted(seqs)


def test_survives_a_pcscd_restart_without_a_gateway_restart(
    pcscd_service: PcscdService, monitor: tuple[ReaderMonitor, Recorder]
) -> None:
    if not pcscd_service.started_here:
        pytest.skip("this run reuses a pcscd it did not start, so it cannot restart it")
    watcher, events = monitor
    watcher.start()
    events.wait_for(EventKind.READER_ATTACHED, CARD_READER)
    events.clear()
    pcscd_service.stop()
    events.wait_for(EventKind.READER_DETACHED, CARD_READER)
    events.wait_for(EventKind.MONITOR_DOWN)
    assert watcher.health().state is MonitorState.RECONNECTING
    pcscd_service.start()
    events.wait_for(EventKind.MONITOR_UP)
    events.wait_for(EventKind.READER_ATTACHED, CARD_READER)
    assert events.kinds(CARD_READER) == [EventKind.READER_DETACHED, EventKind.READER_ATTACHED]
    health = watcher.health()
    assert health.state is MonitorState.RUNNING and health.context_resets >= 1


def test_cli_watch_prints_events_as_json_lines(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    done = subprocess.run(
        [sys.executable, "-m", "ktp_gateway.cli", "readers", "--watch", "--json", "--seconds", "2"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {"kind": "card_inserted", "reader": CARD_READER} in [
        {"kind": line["kind"], "reader": line["reader"]} for line in lines
    ]
