from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.stack.pcscd import PCSCD_BINARY, PcscdService
from ktp_gateway.stack.virtual import VirtualReaderPair

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


@pytest.fixture(scope="session")
def pcscd_service() -> Iterator[PcscdService]:
    """pcscd with the virtual readers for the whole session (reused if one already serves them)."""
    if not PCSCD_BINARY.exists() or not VPCD_DRIVER.exists():
        pytest.skip("pcscd or vsmartcard-vpcd is not installed")
    with PcscdService() as service:
        yield service


@pytest.fixture
def reader_pair(pcscd_service: PcscdService) -> Iterator[VirtualReaderPair]:
    with VirtualReaderPair() as pair:
        yield pair
