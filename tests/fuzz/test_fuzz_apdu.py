"""APDU codecs: any bytes give an APDU or `ApduFormatError`; whatever decodes, re-encodes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.reader.smartcard.apdu import (
    EXTENDED_MAX,
    ApduFormatError,
    CommandApdu,
    ResponseApdu,
)
from tests.fuzz.budget import fuzz

headers = st.binary(min_size=4, max_size=4)
# Bodies shaped like real length fields (short and extended, agreeing or not) and raw noise.
short_bodies = st.binary(max_size=256).flatmap(
    lambda data: st.sampled_from(
        [
            bytes((len(data) % 256,)) + data,
            bytes((len(data) % 256,)) + data + b"\x00",
            bytes(((len(data) + 1) % 256,)) + data,
        ]
    )
)
extended_bodies = st.binary(max_size=600).flatmap(
    lambda data: st.sampled_from(
        [
            b"\x00" + len(data).to_bytes(2, "big") + data,
            b"\x00" + len(data).to_bytes(2, "big") + data + b"\x01\x00",
            b"\x00\x01\x00",
            b"\x00" + (len(data) + 3).to_bytes(2, "big") + data,
        ]
    )
)
raw_commands = st.one_of(
    st.binary(max_size=700),
    st.tuples(headers, st.one_of(short_bodies, extended_bodies)).map(lambda t: t[0] + t[1]),
)


def _command(raw: bytes) -> None:
    try:
        command = CommandApdu.from_bytes(raw)
    except ApduFormatError:
        return
    assert CommandApdu.from_bytes(command.to_bytes()) == command


def test_fuzz_command_apdu_decoding() -> None:
    assert fuzz("CommandApdu.from_bytes", raw_commands, _command) > 0


def _response(raw: bytes) -> None:
    try:
        response = ResponseApdu.from_bytes(raw)
    except ApduFormatError:
        assert len(raw) < 2
        return
    assert response.to_bytes() == raw and 0 <= response.sw <= 0xFFFF


def test_fuzz_response_apdu_decoding() -> None:
    assert fuzz("ResponseApdu.from_bytes", st.binary(max_size=300), _response) > 0


commands = st.builds(
    CommandApdu,
    cla=st.integers(0, 255),
    ins=st.integers(0, 255),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=400),
    le=st.none() | st.integers(1, EXTENDED_MAX),
)


@given(commands)
def test_every_command_round_trips(command: CommandApdu) -> None:
    assert CommandApdu.from_bytes(command.to_bytes()) == command
