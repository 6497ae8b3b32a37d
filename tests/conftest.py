"""Session fixtures: the real pcscd and virtual readers, and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.reader.smartcard.pcscd_host import PCSCD_BINARY
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.postgres import PostgresServer, available, start_postgres

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server (initdb + pg_ctl) for the whole session."""
    if not available():
        # A failure, not a skip: the PostgreSQL path must never pass by being left out.
        pytest.fail("PostgreSQL is not installed: run scripts/setup.sh --test")
    server = start_postgres()
    yield server
    server.stop()
