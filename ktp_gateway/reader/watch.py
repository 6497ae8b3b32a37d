"""`ktp-gateway readers --watch`: follow reader and card events live, like pcsc_scan."""

from __future__ import annotations

import json
import queue
import time
from dataclasses import asdict

from ktp_gateway.reader.monitor import ReaderEvent, ReaderMonitor

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
    return f"{stamp}  {MARKS[event.kind.value]}  {detail}{atr}"


def watch(*, as_json: bool, seconds: float | None = None) -> int:
    """Print events until interrupted (or for `seconds`); no card data, only reader state."""
    events: queue.Queue[ReaderEvent] = queue.Queue()
    monitor = ReaderMonitor()
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
        monitor.stop()
    return 0
