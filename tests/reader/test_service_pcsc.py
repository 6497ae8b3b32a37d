"""The reader layer through the real pcscd, pyscard and the virtual card and SAM."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.reader.serial.service import IntegratedInfo, IntegratedReaders
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.reader.smartcard.pcsc import PcscConnection, PcscContext
from ktp_gateway.sam.activation_record import parse_record
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.activation import VIRTUAL_AGENCY, record_json, virtual_records
from ktp_gateway_dev.simulators.card import VirtualKtpCard
from ktp_gateway_dev.simulators.faults import FaultyCard
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import (
    CARD_READER,
    SAM_READER,
    SECOND_CARD_READER,
    SECOND_SAM_READER,
    VirtualReaderPair,
)
from tests.reader.activations import virtual_activations
from tests.reader.integrated import PROFILE as INTEGRATED_PROFILE

pytestmark = pytest.mark.pcsc


def _service(**record: object) -> ReaderService:
    return ReaderService(load_specs(), virtual_activations(**record))


async def _code_of(service: ReaderService, **kwargs: float) -> ErrorCode:
    with pytest.raises(GatewayError) as caught:
        await service.read(**kwargs)  # type: ignore[arg-type]
    return caught.value.code


async def test_reads_the_granted_fields_of_an_authenticated_genuine_card(
    reader_pair: VirtualReaderPair,
) -> None:
    reader_pair.place("budi")
    reading = await _service().read()
    budi = load_population().by_key("budi").card_record()
    assert reading.reader == CARD_READER
    assert reading.person.nik == budi.nik
    assert reading.person.nama_lengkap == budi.nama_lgkp
    assert reading.person.tanggal_lahir == dt.date(1980, 5, 15)
    assert reading.person.alamat is not None and reading.person.alamat.alamat == budi.address.alamat
    assert reading.signature_verified
    assert reading.photo == load_population().by_key("budi").photo_bytes()
    assert reading.card_traffic.apdus > 0 and reading.sam_traffic.apdus > 0
    assert "ISLAM" not in repr(reading.person)  # agama stays on the card


async def test_a_clone_card_fails_mutual_authentication(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi", clone=True)
    assert await _code_of(_service()) is ErrorCode.CARD_AUTH_FAILED


@pytest.mark.parametrize(
    "variant", [{"bad_signature": True}, {"altered_biodata": {"nama": "BUDI PALSU"}}]
)
async def test_data_that_does_not_match_the_issuer_signature_is_refused(
    reader_pair: VirtualReaderPair, variant: dict[str, object]
) -> None:
    reader_pair.place("budi", **variant)
    assert await _code_of(_service()) is ErrorCode.CARD_NOT_GENUINE


async def test_wrong_activation_values_leave_the_sam_closed(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    wrong = _service(pcid=bytes(16), conf=bytes(32))  # a validly signed record, wrong values
    assert await _code_of(wrong) is ErrorCode.SAM_NOT_ACTIVATED


async def test_no_card_within_the_wait_is_a_typed_error(reader_pair: VirtualReaderPair) -> None:
    assert await _code_of(_service(), wait_seconds=0.3) is ErrorCode.NO_CARD


async def test_waits_for_a_card_placed_during_the_request(reader_pair: VirtualReaderPair) -> None:
    service = _service()
    request = asyncio.create_task(service.read(wait_seconds=10))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(reader_pair.place, "siti")
    reading = await request
    assert reading.person.nama_lengkap == "SITI CONTOH RAHAYU"


async def test_a_second_request_on_a_busy_reader_is_refused_at_once(
    reader_pair: VirtualReaderPair,
) -> None:
    service = _service()
    first = asyncio.create_task(service.read(CARD_READER, wait_seconds=3))
    await asyncio.sleep(0.3)
    assert await _code_of(service, reader=CARD_READER, wait_seconds=3) is ErrorCode.READER_BUSY
    await asyncio.to_thread(reader_pair.place, "budi")
    assert (await first).person.nama_lengkap == "BUDI CONTOH"


async def test_lists_each_pair_and_never_offers_a_sam_slot(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    listed = {r.name: r for r in await _service().list_readers()}
    assert set(listed) == {CARD_READER, SECOND_CARD_READER}  # never "... 01", the SAM slots
    reader = listed[CARD_READER]
    assert reader.sam_reader == SAM_READER
    assert reader.card_present and reader.sam_present and not reader.busy
    assert reader.profile == "vpcd-virtual" and reader.atr is not None
    second = listed[SECOND_CARD_READER]
    assert second.sam_reader == SECOND_SAM_READER
    assert not second.card_present and not second.sam_present  # unit 2 holds no SAM here


def _both_units() -> ReaderService:
    """A service holding both units' activation records (each unit has its own SAM serial)."""
    specs = load_specs()
    records = [parse_record(record_json(r), specs, "test") for r in virtual_records()]
    return ReaderService(specs, Activations(records, agency=VIRTUAL_AGENCY))


async def test_two_readers_serve_two_taps_at_once(
    reader_pair: VirtualReaderPair, second_reader_pair: VirtualReaderPair
) -> None:
    service = _both_units()
    # Reader 1 waits for a card; meanwhile reader 2 reads one: a wait never blocks another reader.
    waiting = asyncio.create_task(service.read(CARD_READER, wait_seconds=10))
    await asyncio.sleep(0.3)
    second_reader_pair.place("siti")
    other = await service.read(SECOND_CARD_READER)
    assert other.reader == SECOND_CARD_READER and other.person.nama_lengkap == "SITI CONTOH RAHAYU"
    assert not waiting.done()
    await asyncio.to_thread(reader_pair.place, "budi")
    first = await waiting
    assert first.reader == CARD_READER and first.person.nama_lengkap == "BUDI CONTOH"
    # Both at once, many times over: each reader returns its own card's holder.
    for _ in range(5):
        one, two = await asyncio.gather(service.read(CARD_READER), service.read(SECOND_CARD_READER))
        assert (one.person.nama_lengkap, two.person.nama_lengkap) == (
            "BUDI CONTOH",
            "SITI CONTOH RAHAYU",
        )


async def test_with_no_reader_named_a_free_reader_holding_a_card_is_chosen(
    reader_pair: VirtualReaderPair, second_reader_pair: VirtualReaderPair
) -> None:
    service = _both_units()
    second_reader_pair.place("siti")
    assert (await service.read()).reader == SECOND_CARD_READER
    reader_pair.place("budi")
    # Two unnamed requests at once: each gets a reader of its own, not `reader_busy`.
    one, two = await asyncio.gather(service.read(), service.read())
    assert {one.reader, two.reader} == {CARD_READER, SECOND_CARD_READER}


async def test_each_unit_opens_only_with_its_own_sams_record(
    second_reader_pair: VirtualReaderPair,
) -> None:
    second_reader_pair.place("budi")
    # A record for unit 2 but for unit 1's SAM serial: the SAM in unit 2 is not the activated one.
    service = _service(unit=second_reader_pair.card_reader.removesuffix(" 00"))
    code = await _code_of(service, reader=SECOND_CARD_READER)
    assert code is ErrorCode.SAM_READER_MISMATCH


async def test_a_tap_holds_its_slots_so_no_other_program_slips_into_the_session(
    reader_pair: VirtualReaderPair,
) -> None:

    service = _service()
    reader_pair.place_card(FaultyCard(VirtualKtpCard.for_person("budi"), mute_after=12))
    tap = asyncio.create_task(service.read(CARD_READER))
    await asyncio.sleep(0.5)  # the tap holds the SAM (mid-authentication, the card mute)

    def outside_look() -> ErrorCode:
        with PcscContext() as other, pytest.raises(GatewayError) as caught:
            other.connect(SAM_READER, exclusive=False, reset_on_close=False)
        return caught.value.code

    assert await asyncio.to_thread(outside_look) is ErrorCode.READER_BUSY
    await asyncio.to_thread(reader_pair.remove)
    with pytest.raises(GatewayError):
        await tap


async def test_a_tap_waits_for_another_program_to_let_go_of_the_sam(
    reader_pair: VirtualReaderPair,
) -> None:

    reader_pair.place("budi")
    with PcscContext() as other:
        look = other.connect(SAM_READER, exclusive=False, reset_on_close=False)
        tap = asyncio.create_task(_service().read(CARD_READER))
        await asyncio.sleep(0.5)
        assert not tap.done()  # waiting for the slot, not failing
        look.close()
    assert (await tap).person.nama_lengkap == "BUDI CONTOH"


async def test_a_request_cancelled_while_it_claims_a_reader_leaves_the_reader_free(
    reader_pair: VirtualReaderPair,
) -> None:
    service = _service()
    request = asyncio.create_task(service.read(CARD_READER, wait_seconds=3))
    await asyncio.sleep(0)  # its claim has gone to a thread, which asks pcscd
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    await asyncio.sleep(0.5)  # the claim's thread has finished by now
    [reader] = [r for r in await service.list_readers() if r.name == CARD_READER]
    assert not reader.busy
    reader_pair.place("budi")
    assert (await service.read(CARD_READER, wait_seconds=3)).person.nama_lengkap == "BUDI CONTOH"


async def test_taps_keep_their_threads_pcsc_contexts_instead_of_making_one_per_tap(
    reader_pair: VirtualReaderPair,
) -> None:
    made: list[PcscContext] = []

    def counting() -> PcscContext:
        made.append(PcscContext())
        return made[-1]

    service = ReaderService(load_specs(), virtual_activations(), context_factory=counting)
    reader_pair.place("budi")
    await service.read(CARD_READER)
    after_first = len(made)
    for _ in range(5):
        assert (await service.read(CARD_READER)).person.nama_lengkap == "BUDI CONTOH"
    assert after_first == len(made) == 2  # a choosing thread's and the reader's worker's
    service.close()


async def test_a_kept_context_outlives_a_pcscd_restart(
    pcscd_service: PcscdService, reader_pair: VirtualReaderPair
) -> None:
    if not pcscd_service.started_here:
        pytest.skip("this run reuses a pcscd it did not start, so it cannot restart it")
    service = _service()
    reader_pair.place("budi")
    await service.read(CARD_READER)
    reader_pair.stop()
    pcscd_service.stop()
    pcscd_service.start()
    reader_pair.start()
    reader_pair.place("budi")
    # The kept contexts belong to the old pcscd: the tap renews them, the caller sees nothing.
    reading = await service.read(CARD_READER, wait_seconds=5)
    assert reading.person.nama_lengkap == "BUDI CONTOH"
    service.close()


async def test_a_tap_answers_before_the_slots_are_reset_and_the_next_tap_waits_for_them(
    reader_pair: VirtualReaderPair,
) -> None:
    resets: list[float] = []
    answers: list[float] = []

    class Timed(PcscContext):
        def connect(
            self, reader: str, *, exclusive: bool = True, reset_on_close: bool = True
        ) -> PcscConnection:
            connection = super().connect(reader, exclusive=exclusive, reset_on_close=reset_on_close)
            close = connection.close

            def timed_close() -> None:
                time.sleep(0.05)  # a slow reset: the answer must not wait for it
                close()
                resets.append(time.monotonic())

            connection.close = timed_close  # type: ignore[method-assign]
            return connection

    service = ReaderService(load_specs(), virtual_activations(), context_factory=Timed)
    reader_pair.place("budi")
    for _ in range(5):  # back to back: never `reader_busy` while the last tap resets
        await service.read(CARD_READER)
        answers.append(time.monotonic())
    await asyncio.sleep(0.3)  # the last tap's resets, after its answer
    assert len(resets) == 10  # card and SAM slot of each tap
    assert all(answer < reset for answer, reset in zip(answers, resets[::2], strict=True))
    service.close()


async def test_a_named_pcsc_tap_does_not_look_at_the_serial_ports(
    reader_pair: VirtualReaderPair, tmp_path: Path
) -> None:
    looks: list[float] = []

    class Counted(IntegratedReaders):
        def refresh(self, discovery_age: float) -> list[IntegratedInfo]:
            looks.append(discovery_age)
            return super().refresh(discovery_age)

    serial = Counted([INTEGRATED_PROFILE], ports=(str(tmp_path / "ttyACM-*"),))
    service = ReaderService(load_specs(), virtual_activations(), integrated=serial)
    reader_pair.place("budi")
    assert (await service.read(CARD_READER)).person.nama_lengkap == "BUDI CONTOH"
    assert looks == []  # a PC/SC reader by name: no serial port globbed, no device polled
    assert await _code_of(service, reader="NO SUCH READER") is ErrorCode.READER_NOT_FOUND
    assert looks == [0.0]  # an unknown name: the ports are looked at (plugged in just now?)
    service.close()
