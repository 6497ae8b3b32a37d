"""Finding integrated readers: ask each serial port the profile's patterns match who it is.

A port that does not answer the acknowledge command, answers another model, or cannot be opened
(taken by another program, gone) is not one of this profile's readers and is skipped; the scan
never leaves a port open. Run it again to find a reader that was plugged back in: nothing keeps
a port between taps, so a device that comes back is simply found again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ktp_gateway.errors import ReaderError
from ktp_gateway.reader.serial.device import DeviceInfo, IntegratedDevice
from ktp_gateway.reader.serial.port import SerialPort, candidate_ports
from ktp_gateway.specs.integrated import IntegratedReaderProfile


@dataclass(frozen=True, slots=True)
class FoundReader:
    """An integrated reader on a port: its path, model and what it reports of itself."""

    path: str
    profile: str
    model: str
    info: DeviceInfo

    @property
    def name(self) -> str:
        """The reader's name in the API: stable across ports (its serial), never a person."""
        return f"{self.model} {self.info.serial}"


def identify(device: IntegratedDevice, path: str, profile: IntegratedReaderProfile) -> FoundReader:
    """Who the device on `path` is (a model `profile` does not know is refused)."""
    model = device.identify()
    return FoundReader(path=path, profile=profile.id, model=model, info=device.info())


def probe(path: str, profile: IntegratedReaderProfile) -> FoundReader | None:
    """The reader on `path` if it is one of `profile`'s, else None."""
    try:
        port = SerialPort(path, profile.serial)
    except ReaderError:
        return None
    try:
        return identify(IntegratedDevice(port, profile), path, profile)
    except ReaderError:
        return None
    finally:
        port.close()


def discover(profiles: list[IntegratedReaderProfile]) -> list[FoundReader]:
    """Every integrated reader attached now, by name."""
    found: dict[str, FoundReader] = {}
    for profile in profiles:
        for path in candidate_ports(profile.serial):
            reader = probe(path, profile)
            if reader is not None and reader.name not in found:
                found[reader.name] = reader
    return sorted(found.values(), key=lambda r: r.name)
