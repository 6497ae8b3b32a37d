"""Integrated readers as the gateway serves them: discovery on ports, polling into events, taps,
and the faults that must end typed, free the reader, and let it be found again.

Every byte goes through the real pyserial on a pseudo-terminal whose other side is the project's
emulator; the emulator's port is a symlink, as udev's stable name for a USB device is, so an
unplug makes the path vanish and a replug brings it back on a new pty.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.domain import HolderAsk, HolderResult
from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.reader.monitor import EventKind, ReaderEvent
from ktp_gateway.reader.serial.monitor import SerialMonitor
from ktp_gateway.reader.serial.service import IntegratedReaders
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from ktp_gateway_dev.simulators.population import load_population
from tests.reader.integrated import NAME, PROFILE, plugged, ports

OFFICER = HolderAsk(officer_id="PETUGAS-UJI-07")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[IntegratedReaderEmulator]:
    with plugged(tmp_path) as device:
        yield device


@pytest.fixture
def readers(tmp_path: Path) -> Iterator[IntegratedReaders]:
    service = IntegratedReaders(
        [PROFILE], ports=(ports(tmp_path),), card_timeout=2, finger_timeout=1
    )
    yield service
    service.close()


def _tap(
    readers: IntegratedReaders,
    reader: str | None = None,
    wait: float = 0,
    holder: HolderAsk | None = None,
    cancel: threading.Event | None = None,
) -> object:
    name = readers.claim(reader)
    return readers.read(name, wait, cancel, holder)


def test_a_reader_is_found_by_name_and_its_card_seen_by_polling(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    [info] = readers.scan()
    assert (info.name, info.profile, info.card_present) == (NAME, PROFILE.id, False)
    emulator.place("budi")
    assert readers.scan()[0].card_present
    emulator.remove()
    assert not readers.scan()[0].card_present


def test_a_refresh_polls_the_known_readers_and_looks_at_the_ports_only_when_due(
    tmp_path: Path, readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    emulator.place("budi")
    with plugged(tmp_path, index=1, serial="SN-UJICOBA-0002"):
        [known] = readers.refresh(60.0)  # the second reader is not looked for yet
        assert known.name == NAME and known.card_present  # but the first one is polled now
        assert len(readers.refresh(0.0)) == 2  # a look at the ports finds it


def test_a_tap_reads_granted_fields_only_and_needs_no_apdu(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    emulator.place("budi")
    reading = _tap(readers)
    record = load_population().by_key("budi").card_record()
    assert reading.reader == NAME and reading.person.nik == record.nik  # type: ignore[attr-defined]
    assert reading.signature_checks == ("device",) and reading.holder is None  # type: ignore[attr-defined]
    assert record.agama not in reading.person.model_dump_json()  # type: ignore[attr-defined]
    assert emulator.commands[-4:] == ["ektpopen", "ektpput", "ektpdemog", "ektpclose"]
    assert not readers.state()[0].busy


@pytest.mark.parametrize(
    ("finger", "result"),
    [
        ("match", HolderResult.MATCH),
        ("no_match", HolderResult.NO_MATCH),
        ("none", HolderResult.TIMEOUT),
    ],
)
def test_the_holder_finger_is_matched_on_the_device(
    readers: IntegratedReaders,
    emulator: IntegratedReaderEmulator,
    finger: str,
    result: HolderResult,
) -> None:
    readers.scan()
    emulator.place("budi", finger=finger)  # type: ignore[arg-type]
    reading = _tap(readers, holder=OFFICER)
    check = reading.holder  # type: ignore[attr-defined]
    assert check is not None and check.result is result
    assert check.finger == "right_index"  # the first finger the card holds, by the profile's name
    assert "ektpfinger" in emulator.commands


def test_no_card_in_time_is_no_card_and_the_reader_stays(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    with pytest.raises(ReaderError) as caught:
        _tap(readers, wait=0)
    assert caught.value.code is ErrorCode.NO_CARD
    assert [i.name for i in readers.scan()] == [NAME]


def test_a_cancelled_wait_ends_at_once(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ReaderError) as caught:
        _tap(readers, wait=10, cancel=cancel)
    assert caught.value.code is ErrorCode.NO_CARD and time.monotonic() - started < 2


def test_a_second_tap_on_a_busy_reader_is_refused_at_once(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    first = readers.claim(NAME)
    try:
        with pytest.raises(ReaderError) as caught:
            readers.claim(NAME)
        assert caught.value.code is ErrorCode.READER_BUSY
        readers.scan()  # a poll never touches a reader in a tap
        assert readers.state()[0].busy
    finally:
        readers.release(first)


def test_an_unknown_reader_name_is_not_found(readers: IntegratedReaders) -> None:
    with pytest.raises(ReaderError) as caught:
        readers.claim("len442ektpreader SN-TIDAK-ADA")
    assert caught.value.code is ErrorCode.READER_NOT_FOUND


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("mute", ErrorCode.READER_NOT_RESPONDING),
        ("garbage", ErrorCode.READER_FRAME_INVALID),
        ("half_frame", ErrorCode.READER_FRAME_INVALID),
        ("oversize", ErrorCode.READER_FRAME_INVALID),
        ("vendor_error", ErrorCode.READER_UNAVAILABLE),
    ],
)
def test_a_faulty_device_gives_a_typed_error_and_never_hangs(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator, fault: str, code: ErrorCode
) -> None:
    readers.scan()
    emulator.place("budi")
    emulator.fault = fault  # type: ignore[assignment]
    started = time.monotonic()
    with pytest.raises(ReaderError) as caught:
        _tap(readers)
    assert caught.value.code is code
    assert time.monotonic() - started < 5
    assert not any(info.busy for info in readers.state())
    emulator.fault = None  # the device recovers: found again and read
    assert [i.name for i in readers.scan()] == [NAME]
    assert _tap(readers).person.nik  # type: ignore[attr-defined]


def test_a_slow_device_within_its_budget_is_read(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    emulator.place("budi")
    emulator.fault, emulator.slow_seconds = "slow", 0.3
    assert _tap(readers).person.nik  # type: ignore[attr-defined]


def test_unplugged_mid_tap_then_plugged_back(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    readers.scan()
    timer = threading.Timer(0.3, emulator.unplug)
    timer.start()
    with pytest.raises(ReaderError) as caught:
        _tap(readers, wait=5)  # waiting for a card when the cable goes
    timer.join()
    assert caught.value.code in {ErrorCode.READER_UNAVAILABLE, ErrorCode.READER_NOT_RESPONDING}
    assert readers.scan() == []  # the port is gone
    emulator.replug()
    assert [i.name for i in readers.scan()] == [NAME]
    emulator.place("budi")
    assert _tap(readers).person.nik  # type: ignore[attr-defined]


def test_the_monitor_reports_the_family_lifecycle_in_order(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    monitor = SerialMonitor(readers)
    events: list[ReaderEvent] = []
    monitor.add_listener(events.append)
    monitor.poll_once()
    emulator.place("budi")
    monitor.poll_once()
    emulator.remove()
    monitor.poll_once()
    emulator.place("siti")
    monitor.poll_once()
    emulator.unplug()
    monitor.poll_once()
    emulator.replug()
    monitor.poll_once()
    kinds = [(e.kind, e.reader, e.family) for e in events]
    assert kinds == [
        (EventKind.READER_ATTACHED, NAME, "integrated"),
        (EventKind.CARD_INSERTED, NAME, "integrated"),
        (EventKind.CARD_REMOVED, NAME, "integrated"),
        (EventKind.CARD_INSERTED, NAME, "integrated"),
        (EventKind.CARD_REMOVED, NAME, "integrated"),
        (EventKind.READER_DETACHED, NAME, "integrated"),
        (EventKind.READER_ATTACHED, NAME, "integrated"),
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_the_monitor_thread_polls_on_its_own(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator
) -> None:
    monitor = SerialMonitor(readers, interval=0.2)
    seen = threading.Event()
    monitor.add_listener(lambda e: seen.set() if e.kind is EventKind.CARD_INSERTED else None)
    monitor.start()
    try:
        emulator.place("budi")
        assert seen.wait(3)
    finally:
        monitor.stop()


def test_two_readers_are_two_names_and_taps_run_side_by_side(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    with plugged(tmp_path, 1, serial="SN-UJICOBA-0002") as other:
        names = [i.name for i in readers.scan()]
        assert names == [NAME, f"{PROFILE.models[0]} SN-UJICOBA-0002"]
        emulator.place("budi")
        other.place("siti")

        async def both() -> list[object]:
            return await asyncio.gather(
                asyncio.to_thread(_tap, readers, names[0]),
                asyncio.to_thread(_tap, readers, names[1]),
            )

        first, second = asyncio.run(both())
        assert first.person.nik != second.person.nik  # type: ignore[attr-defined]


def test_another_serial_device_costs_one_probe_not_one_per_scan(
    readers: IntegratedReaders, emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    master, slave = os.openpty()  # a serial device that never answers our acknowledge command
    link = tmp_path / "ttyACM-modem"
    link.symlink_to(os.ttyname(slave))
    try:
        started = time.monotonic()
        assert [i.name for i in readers.scan()] == [NAME]
        first = time.monotonic() - started
        started = time.monotonic()
        assert [i.name for i in readers.scan()] == [NAME]
        second = time.monotonic() - started
        assert first >= PROFILE.commands.ack.timeout_seconds > 5 * second
    finally:
        os.close(master)
        os.close(slave)
