"""The virtual stack through the real pcscd and pyscard: the path the gateway uses."""

from __future__ import annotations

import time

import pytest

from ktp_gateway_dev.simulators.card.files import card_uid
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, SAM_READER, VirtualReaderPair
from tests.simulators.relay import CARD, OK, SAM, HostRelay, split
from tests.stack.pcsc_helpers import Pcsc

pytestmark = pytest.mark.pcsc
ROUND_TRIPS = 200


def test_readers_atrs_uid_and_select(reader_pair: VirtualReaderPair) -> None:
    card = reader_pair.place("budi")
    with Pcsc() as pcsc:
        assert {CARD_READER, SAM_READER} <= set(pcsc.readers())
        card_slot, sam_slot = pcsc.connect(CARD_READER), pcsc.connect(SAM_READER)
        assert card_slot.atr == card.atr and CARD.matches_atr(card_slot.atr)
        assert sam_slot.atr == reader_pair.sam.atr and SAM.matches_atr(sam_slot.atr)
        uid = load_population().by_key("budi").nik
        assert split(card_slot.transmit(CARD.uid.type_a_command)) == (card_uid(uid), OK)
        assert split(card_slot.transmit(bytes.fromhex("00A40000027F0A"))) == (b"", OK)
        assert split(sam_slot.transmit(bytes.fromhex("00FF0000"))) == (b"", 0x6982)


def test_removed_card_leaves_the_reader_empty_and_the_sam_in_place(
    reader_pair: VirtualReaderPair,
) -> None:
    reader_pair.place("budi")
    with Pcsc() as pcsc:
        assert pcsc.card_present(CARD_READER)
        reader_pair.remove()
        assert pcsc.wait_absent(CARD_READER, timeout=3)
        with pytest.raises(ConnectionError):
            pcsc.connect(CARD_READER)
        assert pcsc.card_present(SAM_READER)


def test_another_card_replaces_the_first(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    siti = reader_pair.place("siti")
    with Pcsc() as pcsc:
        uid, _ = split(pcsc.connect(CARD_READER).transmit(CARD.uid.type_a_command))
        assert uid == siti.image.uid


def test_mutual_authentication_and_secure_messaging_through_pcscd(
    reader_pair: VirtualReaderPair,
) -> None:
    reader_pair.place("dewi")
    with Pcsc() as pcsc:
        card, sam = pcsc.connect(CARD_READER), pcsc.connect(SAM_READER)
        host = HostRelay(card.transmit, sam.transmit)
        assert host.open() == OK
        assert host.authenticate() == OK
        biodata = host.read_file("biodata", secure=True).decode("ascii")
        assert "DEWI SAMPEL LESTARY" in biodata.split(CARD.biodata.delimiter)
        signature = host.read_file("digital_signature")
        bodies = [
            host.read_file(name)
            if CARD.files[name].access == "plain"
            else host.read_file(name, secure=True)
            for name in CARD.signed_files
        ]
        assert host.check_signature(signature, bodies) == OK


def test_clone_card_is_refused_through_pcscd(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi", clone=True)
    with Pcsc() as pcsc:
        host = HostRelay(pcsc.connect(CARD_READER).transmit, pcsc.connect(SAM_READER).transmit)
        assert host.open() == OK
        assert host.authenticate() == 0x6300


def test_apdu_round_trip_time(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    with Pcsc() as pcsc:
        card = pcsc.connect(CARD_READER)
        select = bytes.fromhex("00A40000027F0A")
        card.transmit(select)
        started = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            card.transmit(select)
        average_ms = (time.perf_counter() - started) / ROUND_TRIPS * 1000
    print(f"\naverage APDU round trip through pcscd + vpcd: {average_ms:.3f} ms")


def test_a_pair_whose_card_removal_times_out_still_takes_its_sam_out(
    pcscd_service: PcscdService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SAM left in its slot holds vpcd's port: every later pair on this unit would time out.
    pair = VirtualReaderPair()
    pair.start()
    pair.place("budi")
    monkeypatch.setattr(pair, "_slot_gone", lambda reader, seen: False)  # pcscd too slow
    with pytest.raises(TimeoutError):
        pair.stop()
    assert not pair._sam_link.connected
    with Pcsc() as pcsc:
        assert pcsc.wait_absent(CARD_READER, timeout=3)
    with VirtualReaderPair() as following:
        following.place("siti")
        with Pcsc() as pcsc:
            assert pcsc.connect(SAM_READER).atr == following.sam.atr


def test_a_sam_left_in_its_slot_is_taken_out_by_the_next_pair(
    pcscd_service: PcscdService,
) -> None:
    left = VirtualReaderPair()
    left.start()  # and never stopped, as by a teardown that raised
    try:
        with VirtualReaderPair() as following:
            assert not left._sam_link.connected
            following.place("budi")
            with Pcsc() as pcsc:
                assert pcsc.card_present(SAM_READER) and pcsc.card_present(CARD_READER)
    finally:
        left.stop()


def test_a_sam_pcscd_never_powers_is_taken_out_again(
    pcscd_service: PcscdService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `with VirtualReaderPair()` raising in `__enter__` never reaches `__exit__`.
    pair = VirtualReaderPair()
    monkeypatch.setattr(pair._sam_link, "wait_powered", lambda timeout: False)
    with pytest.raises(TimeoutError, match="did not power the virtual SAM"):
        pair.start()
    assert not pair._sam_link.connected
    monkeypatch.undo()
    with VirtualReaderPair() as following, Pcsc() as pcsc:
        assert pcsc.connect(SAM_READER).atr == following.sam.atr


def test_a_sam_pcscd_missed_is_placed_again_once_pcscd_saw_it_go(
    pcscd_service: PcscdService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pcscd takes a SAM placed before its poll saw the last one go for that one, never powering
    # it: the pair takes it out, waits for pcscd to see the slot empty, and places it again.
    pair = VirtualReaderPair()
    real_wait = pair._sam_link.wait_powered
    waits: list[float] = []

    def first_missed(timeout: float) -> bool:
        waits.append(timeout)
        return False if len(waits) == 1 else real_wait(timeout)

    monkeypatch.setattr(pair._sam_link, "wait_powered", first_missed)
    with pair, Pcsc() as pcsc:
        assert len(waits) == 2
        assert pcsc.connect(SAM_READER).atr == pair.sam.atr
