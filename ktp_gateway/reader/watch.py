"""`ktp-gateway readers --watch`: follow reader and card events live, like pcsc_scan."""

from __future__ import annotations

import json
import queue
import time
from dataclasses import asdict

from ktp_gateway.reader.events import EventSource
from ktp_gateway.reader.monitor import ReaderEvent, ReaderMonitor
from ktp_gateway.reader.serial.monitor import SerialMonitor
from ktp_gateway.reader.serial.service import IntegratedReaders

MARKS = {
    "reader_attached": "+ reader",
    "reader_detached": "- reader",
    "card_inserted": "+ card  ",
    "card_removed": "- card  ",
    "monitor_down": "! pcscd ",
    "monitor_up": "* pcscd ",
}


def render(event: ReaderEvent) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
    detail = event.reader or (event.code or "")
    atr = f"  ATR {event.atr}" if event.atr else ""
    family = f"  ({event.family})" if event.family else ""
    return f"{stamp}  {MARKS[event.kind.value]}  {detail}{atr}{family}"


def watch(
    *,
    as_json: bool,
    seconds: float | None = None,
    integrated: IntegratedReaders | None = None,
    poll_seconds: float = 1.0,
) -> int:
    """Print events until interrupted (or for `seconds`); no card data, only reader state.
    PC/SC readers, and the integrated ones (polled) when `integrated` is given."""
    events: queue.Queue[ReaderEvent] = queue.Queue()
    monitors: list[EventSource] = [ReaderMonitor()]
    if integrated is not None:
        monitors.append(SerialMonitor(integrated, interval=poll_seconds))
    for monitor in monitors:
        monitor.add_listener(events.put)
        monitor.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            print(json.dumps(asdict(event)) if as_json else render(event), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        for monitor in monitors:
            monitor.stop()
        if integrated is not None:
            integrated.close()
    return 0
