"""The integrated-reader emulator as the tests plug it in: on a udev-like symlink in a temporary
folder, which the gateway's `serial_ports` pattern (PORTS) points at."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.integrated import INFO, IntegratedReaderEmulator

PROFILE = load_specs().integrated["len442-integrated"]
NAME = f"{PROFILE.models[0]} {INFO[1]}"  # the reader's name in the API: model and serial


def ports(folder: Path) -> str:
    """The serial-port pattern that finds every emulator plugged into `folder`."""
    return str(folder / "ttyACM-*")


@contextmanager
def plugged(folder: Path, index: int = 0, **options: str) -> Iterator[IntegratedReaderEmulator]:
    device = IntegratedReaderEmulator(PROFILE, link=folder / f"ttyACM-ujicoba{index}", **options)
    try:
        yield device
    finally:
        device.close()
