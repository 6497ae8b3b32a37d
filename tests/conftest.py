"""Session fixtures shared by every test that goes through the real pcscd and virtual readers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.reader.smartcard.pcscd_host import PCSCD_BINARY
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


@pytest.fixture(scope="session")
def pcscd_service() -> Iterator[PcscdService]:
    """pcscd with the virtual readers for the whole session (reused if one already serves them)."""
    if not PCSCD_BINARY.exists() or not VPCD_DRIVER.exists():
        # A failure, not a skip: CI must never pass by quietly leaving out the real stack.
        pytest.fail("pcscd or vsmartcard-vpcd is not installed: run scripts/setup.sh")
    with PcscdService() as service:
        yield service


@pytest.fixture
def reader_pair(pcscd_service: PcscdService) -> Iterator[VirtualReaderPair]:
    with VirtualReaderPair() as pair:
        yield pair


@pytest.fixture
def second_reader_pair(pcscd_service: PcscdService) -> Iterator[VirtualReaderPair]:
    """The second virtual reader unit, with its own SAM: for several readers at once."""
    with VirtualReaderPair.second() as pair:
        yield pair
