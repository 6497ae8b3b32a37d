"""An integrated reader through the real pyserial, on a pseudo-terminal whose other side is the
project's emulator: every function, the granted-field gate, the finger, and each fault."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.reader.serial.device import IntegratedDevice
from ktp_gateway.reader.serial.discovery import discover
from ktp_gateway.reader.serial.port import SerialPort
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.integrated import INFO, IntegratedReaderEmulator
from ktp_gateway_dev.simulators.population import load_population

PROFILE = load_specs().integrated["len442-integrated"]
OFFICER = ("PETUGAS-UJI-07", "-")


@pytest.fixture
def emulator() -> Iterator[IntegratedReaderEmulator]:
    device = IntegratedReaderEmulator(PROFILE)
    yield device
    device.close()


@pytest.fixture
def device(emulator: IntegratedReaderEmulator) -> Iterator[IntegratedDevice]:
    port = SerialPort(emulator.path, PROFILE.serial)
    yield IntegratedDevice(port, PROFILE)
    port.close()


def test_the_reader_identifies_opens_and_reports_itself(device: IntegratedDevice) -> None:
    assert device.identify() == "len442ektpreader"
    device.open()
    info = device.info()
    assert (info.hardware_id, info.serial, info.firmware) == INFO
    device.close()


def test_a_card_read_releases_granted_fields_only(
    device: IntegratedDevice, emulator: IntegratedReaderEmulator
) -> None:
    emulator.place("budi")
    device.open()
    assert device.put_card(2, "Tempelkan KTP-el") == (2, 7)  # read from the card
    person = device.demography(2, *OFFICER)
    record = load_population().by_key("budi").card_record()
    assert person.nik == record.nik and person.nama_lengkap == record.nama_lgkp
    assert person.tanggal_lahir is not None and person.tanggal_lahir.isoformat() == record.tgl_lhr
    assert person.alamat is not None and person.alamat.rt == record.address.no_rt
    released = person.model_dump_json()
    for ungranted in (record.agama, record.gol_darah, record.kewarganegaraan):
        assert f'"{ungranted}"' not in released  # agama, golongan darah... never leave the driver
    assert emulator.commands == ["ektpopen", "ektpput", "ektpdemog"]


@pytest.mark.parametrize(("finger", "matched"), [("match", True), ("no_match", False)])
def test_the_device_matches_the_holders_finger(
    device: IntegratedDevice, emulator: IntegratedReaderEmulator, finger: str, matched: bool
) -> None:
    emulator.place("budi", finger=finger)  # type: ignore[arg-type]
    assert device.verify_finger(2, 2, *OFFICER, "Tempelkan jari telunjuk kanan") is matched


def test_no_finger_within_the_timeout_is_a_silent_device(
    device: IntegratedDevice, emulator: IntegratedReaderEmulator
) -> None:
    emulator.place("budi", finger="none")
    started = time.monotonic()
    with pytest.raises(ReaderError) as silent:
        device.verify_finger(0.5, 2, *OFFICER, "Tempelkan jari")
    assert silent.value.code is ErrorCode.READER_NOT_RESPONDING
    assert time.monotonic() - started < 0.5 + PROFILE.commands.finger.extra_seconds + 0.5


def test_no_card_within_the_wait_is_no_card(device: IntegratedDevice) -> None:
    with pytest.raises(ReaderError) as empty:
        device.put_card(0.3, "Tempelkan KTP-el")
    assert empty.value.code is ErrorCode.NO_CARD


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
def test_each_fault_is_a_typed_error_in_bounded_time(
    device: IntegratedDevice, emulator: IntegratedReaderEmulator, fault: str, code: ErrorCode
) -> None:
    emulator.fault = fault  # type: ignore[assignment]
    started = time.monotonic()
    with pytest.raises(ReaderError) as failed:
        device.open()
    assert failed.value.code is code
    assert time.monotonic() - started < PROFILE.commands.open.timeout_seconds + 0.5
    emulator.fault = None
    device.open()  # the same port serves again once the device behaves


def test_an_unplugged_reader_is_unavailable_not_a_hang(
    device: IntegratedDevice, emulator: IntegratedReaderEmulator
) -> None:
    device.open()
    emulator.unplug()
    started = time.monotonic()
    with pytest.raises(ReaderError) as gone:
        device.info()
    assert gone.value.code is ErrorCode.READER_UNAVAILABLE
    assert time.monotonic() - started < PROFILE.commands.info.timeout_seconds + 0.5


def test_a_port_that_does_not_exist_is_reader_not_found() -> None:
    with pytest.raises(ReaderError) as missing:
        SerialPort("/dev/ttyKTP-none", PROFILE.serial)
    assert missing.value.code is ErrorCode.READER_NOT_FOUND


def test_discovery_finds_the_reader_and_finds_it_again_after_a_replug(
    emulator: IntegratedReaderEmulator,
) -> None:
    profile = PROFILE.model_copy(
        update={"serial": PROFILE.serial.model_copy(update={"port_patterns": [emulator.path]})}
    )
    (found,) = discover([profile])
    assert (found.path, found.model) == (emulator.path, "len442ektpreader")
    assert found.name == f"len442ektpreader {INFO[1]}" and found.profile == "len442-integrated"
    assert emulator.commands == ["ektpack", "ektpinfo"]  # no open, nothing left behind
    emulator.unplug()
    assert discover([profile]) == []  # gone: skipped, not an error
    again = IntegratedReaderEmulator(PROFILE)
    try:
        moved = profile.model_copy(
            update={"serial": PROFILE.serial.model_copy(update={"port_patterns": [again.path]})}
        )
        assert [r.name for r in discover([moved])] == [found.name]  # the same reader, found again
    finally:
        again.close()


def test_discovery_skips_a_port_that_is_not_such_a_reader(
    emulator: IntegratedReaderEmulator,
) -> None:
    emulator.fault = "mute"
    profile = PROFILE.model_copy(
        update={"serial": PROFILE.serial.model_copy(update={"port_patterns": [emulator.path]})}
    )
    assert discover([profile]) == []
