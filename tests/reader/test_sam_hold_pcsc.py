"""The SAM kept open between taps, through pcscd: opened once, held alone, let go when it should."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator

import pytest

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.activation import VALID_UNTIL
from ktp_gateway_dev.stack.virtual import SAM_READER, VirtualReaderPair
from tests.reader.activations import virtual_activations

pytestmark = pytest.mark.pcsc

SPECS = load_specs()
SAM = SPECS.sam_for(SPECS.readers["vpcd-virtual"])
OPENING = {f"{SAM.instructions.serial:02X}", f"{SAM.instructions.open:02X}"}


class Clock:
    """The activation check's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def held(clock: Clock) -> Iterator[ReaderService]:
    service = ReaderService(load_specs(), virtual_activations(clock=clock), sam_hold_seconds=30)
    yield service
    service.close()


def _opened(reading: CardReading) -> bool:
    """Whether this tap opened the SAM (its serial and open commands)."""
    sent = {f"{ins:02X}" for ins in reading.sam_traffic.by_ins}
    return sent >= OPENING


def _sam_in_use() -> bool:
    with PcscContext() as context:
        [status] = context.statuses([SAM_READER])
    return status.in_use


async def _until(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):  # type: ignore[arg-type]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_taps_in_a_row_open_the_sam_once_and_hold_it_alone(
    held: ReaderService, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    first = await held.read()
    second = await held.read()
    third = await held.read()
    assert _opened(first) and not _opened(second) and not _opened(third)
    assert first.sam_opened and not second.sam_opened and not third.sam_opened
    assert second.sam_traffic.apdus == first.sam_traffic.apdus - 2
    assert second.signature_verified and second.person.nama_lengkap == "BUDI CONTOH"
    assert reader_pair.sam.is_open
    assert await asyncio.to_thread(_sam_in_use)  # exclusively: no other program reaches it


async def test_an_idle_hold_lets_the_sam_go_with_a_reset(
    clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    service = ReaderService(load_specs(), virtual_activations(clock=clock), sam_hold_seconds=0.4)
    try:
        reader_pair.place("budi")
        await service.read()
        await asyncio.sleep(0.2)
        again = await service.read()  # within the hold: kept, and the hold starts anew
        assert not _opened(again)
        assert await _until(lambda: not _sam_in_use())
        assert not reader_pair.sam.is_open  # the slot was reset: the SAM forgot its open
        assert _opened(await service.read())
    finally:
        service.close()


async def test_no_hold_opens_the_sam_for_each_tap(
    clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    service = ReaderService(load_specs(), virtual_activations(clock=clock))
    try:
        reader_pair.place("budi")
        assert _opened(await service.read()) and _opened(await service.read())
        assert await _until(lambda: not _sam_in_use())  # reset after the answer
        assert not reader_pair.sam.is_open
    finally:
        service.close()


async def test_a_sam_pulled_and_put_back_while_held_is_connected_afresh(
    held: ReaderService, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    await held.read()
    await asyncio.to_thread(reader_pair.remove_sam)
    await asyncio.to_thread(reader_pair.start)
    reading = await held.read()
    assert _opened(reading) and reading.signature_verified


async def test_a_sam_gone_while_held_is_sam_unavailable(
    held: ReaderService, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    await held.read()
    await asyncio.to_thread(reader_pair.remove_sam)
    with pytest.raises(GatewayError) as caught:
        await held.read()
    assert caught.value.code is ErrorCode.SAM_UNAVAILABLE


async def test_an_activation_ending_while_held_refuses_the_next_tap_and_lets_go(
    held: ReaderService, clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    await held.read()
    clock.now = VALID_UNTIL + dt.timedelta(days=1)
    with pytest.raises(GatewayError) as caught:
        await held.read()
    assert caught.value.code is ErrorCode.SAM_ACTIVATION_EXPIRED
    assert not await asyncio.to_thread(_sam_in_use) and not reader_pair.sam.is_open


async def test_a_failed_tap_lets_the_held_sam_go(
    held: ReaderService, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    await held.read()
    await asyncio.to_thread(reader_pair.place, "budi", clone=True)
    with pytest.raises(GatewayError) as caught:
        await held.read()
    assert caught.value.code is ErrorCode.CARD_AUTH_FAILED
    assert await _until(lambda: not _sam_in_use())
    assert not reader_pair.sam.is_open
    await asyncio.to_thread(reader_pair.place, "budi")
    assert _opened(await held.read())


async def test_closing_the_service_lets_the_held_sam_go(
    clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    service = ReaderService(load_specs(), virtual_activations(clock=clock), sam_hold_seconds=30)
    reader_pair.place("budi")
    await service.read()
    assert await asyncio.to_thread(_sam_in_use)
    service.close()
    assert await _until(lambda: not _sam_in_use())
    assert not reader_pair.sam.is_open


def test_a_hold_outlives_the_event_loop_of_the_tap_that_began_it(
    clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    service = ReaderService(load_specs(), virtual_activations(clock=clock), sam_hold_seconds=0.4)
    try:
        reader_pair.place("budi")
        asyncio.run(service.read())  # this loop closes; the idle timer does not need it

        async def again() -> bool:
            await service.read()
            return await _until(lambda: not _sam_in_use())

        assert asyncio.run(again())
    finally:
        service.close()


def test_a_service_never_closed_still_lets_its_sam_go_after_the_hold(
    clock: Clock, reader_pair: VirtualReaderPair
) -> None:
    service = ReaderService(load_specs(), virtual_activations(clock=clock), sam_hold_seconds=0.4)
    reader_pair.place("budi")
    asyncio.run(service.read())  # its loop is gone, and close() is never called
    del service
    assert asyncio.run(_until(lambda: not _sam_in_use()))
    assert not reader_pair.sam.is_open
