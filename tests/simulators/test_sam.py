from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktp_gateway_dev.simulators.iso7816 import with_tck
from ktp_gateway_dev.simulators.keys import reader_activation
from ktp_gateway_dev.simulators.sam import MAX_OPEN_TRIES, VirtualSam
from tests.simulators.relay import OK, SAM, apdu, split

INS = SAM.instructions
STEPS = SAM.signature_steps


@pytest.fixture
def sam() -> VirtualSam:
    return VirtualSam.virtual()


def _send(sam: VirtualSam, ins: int, data: bytes = b"", p1: int = 0, p2: int = 0) -> int:
    return split(sam.process(apdu(SAM.cla, ins, p1, p2, data)))[1]


def _open(sam: VirtualSam) -> int:
    return _send(sam, INS.open, reader_activation().open_data())


def test_atr_is_the_specs_first_atr_with_a_correct_tck(sam: VirtualSam) -> None:
    assert sam.atr == with_tck(SAM.atrs[0].value)
    assert SAM.matches_atr(sam.atr)


@pytest.mark.parametrize(
    "ins", [INS.reset, INS.authenticate, INS.verify, INS.wrap, INS.unwrap, INS.signature]
)
def test_everything_but_open_is_refused_before_open(sam: VirtualSam, ins: int) -> None:
    assert _send(sam, ins, bytes(8)) == 0x6982


def test_open_with_the_readers_activation_data(sam: VirtualSam) -> None:
    assert _open(sam) == OK
    assert sam.is_open
    assert _send(sam, INS.reset) == OK


def test_wrong_open_data_is_refused_then_locks_after_five_tries(sam: VirtualSam) -> None:
    for _ in range(MAX_OPEN_TRIES - 1):
        assert _send(sam, INS.open, bytes(32)) == 0x6982
    assert _send(sam, INS.open, bytes(32)) == 0x6983
    assert _open(sam) == 0x6983
    sam.reset()  # the lock lives in the SAM's memory, not in the session
    assert _open(sam) == 0x6983
    assert sam.locked


def test_a_good_open_resets_the_failure_count(sam: VirtualSam) -> None:
    for _ in range(MAX_OPEN_TRIES - 1):
        _send(sam, INS.open, bytes(32))
    assert _open(sam) == OK
    assert _send(sam, INS.open, bytes(32)) == 0x6982
    assert not sam.is_open  # a failed open closes the SAM


def test_open_with_wrong_length_does_not_count(sam: VirtualSam) -> None:
    assert _send(sam, INS.open, bytes(31)) == 0x6700
    assert sam.failed_opens == 0


def test_power_cycle_closes_the_sam(sam: VirtualSam) -> None:
    _open(sam)
    sam.power_off()
    sam.power_on()
    assert _send(sam, INS.reset) == 0x6982


@pytest.mark.parametrize(
    ("raw", "sw"),
    [("80F0000000", 0x6E00), ("00EE0000", 0x6D00), ("00F0", 0x6700), ("00F000000300", 0x6700)],
)
def test_iso_status_words(sam: VirtualSam, raw: str, sw: int) -> None:
    assert split(sam.process(bytes.fromhex(raw)))[1] == sw


def test_relay_steps_need_their_predecessor(sam: VirtualSam) -> None:
    _open(sam)
    assert _send(sam, INS.verify, bytes(40)) == 0x6985
    assert _send(sam, INS.wrap, bytes.fromhex("00B0000008")) == 0x6985
    assert _send(sam, INS.unwrap, bytes.fromhex("9000")) == 0x6985


def test_authenticate_checks_p2_against_the_cc_length(sam: VirtualSam) -> None:
    _open(sam)
    data = bytes(0x33) + b"\x80" + bytes(7) + bytes(8)
    assert _send(sam, INS.authenticate, data, p2=0x05) == 0x6A86
    assert _send(sam, INS.authenticate, data, p2=0x00) == 0x6700  # 0x1D-byte CC expected
    assert _send(sam, INS.authenticate, data, p2=0x01) == 0x6A88  # key version 00 unknown


def test_authenticate_needs_the_uid_prefix(sam: VirtualSam) -> None:
    _open(sam)
    cc = bytes(8) + b"\x01" + bytes(0x33 - 9)
    assert _send(sam, INS.authenticate, cc + b"\x81" + bytes(7) + bytes(8), p2=1) == 0x6A80


def test_signature_steps_in_wrong_order(sam: VirtualSam) -> None:
    _open(sam)
    assert _send(sam, INS.signature, b"\x30", p1=STEPS.load_signature) == 0x6985
    assert _send(sam, INS.signature, p1=STEPS.start) == OK
    assert _send(sam, INS.signature, p1=STEPS.verify) == 0x6985  # not stopped, no signature
    assert _send(sam, INS.signature, bytes(225), p1=STEPS.feed) == 0x6700
    assert _send(sam, INS.signature, p1=STEPS.decipher) == 0x6A81
    assert _send(sam, INS.signature, p1=0x09) == 0x6A86


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_raises_even_when_open(raw: bytes) -> None:
    sam = VirtualSam.virtual()
    _open(sam)
    assert len(sam.process(raw)) >= 2


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(set(INS.model_dump().values()))), st.binary(max_size=250))
def test_garbage_data_for_every_instruction_never_raises(ins: int, data: bytes) -> None:
    sam = VirtualSam.virtual()
    _open(sam)
    assert len(sam.process(apdu(SAM.cla, ins, 0, 1, data))) >= 2
