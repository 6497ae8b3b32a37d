from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.reader.smartcard.apdu import SW, ApduFormatError, CommandApdu, ResponseApdu


def test_case_1_is_header_only() -> None:
    assert CommandApdu(0x00, 0xFF).to_bytes() == bytes.fromhex("00FF0000")


def test_case_2_short_le_256_encodes_as_zero() -> None:
    assert CommandApdu(0x00, 0xB0, le=256).to_bytes() == bytes.fromhex("00B0000000")


def test_case_4_short() -> None:
    apdu = CommandApdu(0x00, 0x82, data=b"\x01" * 0x28, le=0x28)
    assert apdu.to_bytes() == bytes.fromhex("00820000 28") + b"\x01" * 0x28 + b"\x28"


def test_extended_length_only_when_needed() -> None:
    apdu = CommandApdu(0x00, 0xB0, le=4096)
    assert apdu.extended
    assert apdu.to_bytes() == bytes.fromhex("00B00000 00 1000")
    big = CommandApdu(0x00, 0xD6, data=b"\xaa" * 300, le=65536)
    assert big.to_bytes()[4:7] == bytes.fromhex("00012C") and big.to_bytes()[-2:] == b"\x00\x00"


def test_refuses_out_of_range_values() -> None:
    with pytest.raises(ApduFormatError):
        CommandApdu(0x100, 0xA4)
    with pytest.raises(ApduFormatError):
        CommandApdu(0x00, 0xB0, le=0)


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=600),
    st.one_of(st.none(), st.integers(1, 65536)),
)
def test_encode_decode_round_trip(
    cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    apdu = CommandApdu(cla, ins, p1, p2, data, le)
    assert CommandApdu.from_bytes(apdu.to_bytes()) == apdu


@given(st.binary(max_size=40))
def test_decoding_garbage_never_crashes_unexpectedly(raw: bytes) -> None:
    with contextlib.suppress(ApduFormatError):
        CommandApdu.from_bytes(raw)


def test_response_split_and_garbled_answer() -> None:
    response = ResponseApdu.from_bytes(bytes.fromhex("0102 9000"))
    assert response.data == b"\x01\x02" and response.ok and response.sw1 == 0x90
    with pytest.raises(ApduFormatError):
        ResponseApdu.from_bytes(b"\x90")


def test_unknown_status_words_are_kept_as_hex() -> None:
    assert SW.describe(0x6982) == "SECURITY_NOT_SATISFIED (6982)"
    assert SW.describe(0x6F42) == "6F42"


@given(
    st.tuples(*[st.integers(min_value=-2, max_value=0x101) for _ in range(4)]),
)
def test_each_header_byte_is_checked_wherever_it_is(header: tuple[int, int, int, int]) -> None:
    if all(0 <= b <= 0xFF for b in header):
        assert CommandApdu(*header).to_bytes() == bytes(header)
    else:
        with pytest.raises(ApduFormatError):
            CommandApdu(*header)
