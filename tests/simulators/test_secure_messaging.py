from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway_dev.simulators.crypto import KeyPair
from ktp_gateway_dev.simulators.iso7816 import Command, Response
from ktp_gateway_dev.simulators.keys import derive
from ktp_gateway_dev.simulators.secure_messaging import (
    SecureChannel,
    SmError,
    protected_response_length,
)

KEYS = KeyPair(enc=derive("test SM enc", 24), mac=derive("test SM mac", 24))


def _ends(ssc: int = 0xFFFFFFFFFFFFFFFE) -> tuple[SecureChannel, SecureChannel]:
    return SecureChannel(KEYS, ssc), SecureChannel(KEYS, ssc)


@given(
    st.integers(0, 0xFF),
    st.integers(0, 0xFF),
    st.binary(max_size=200),
    st.one_of(st.none(), st.integers(1, 256)),
)
def test_commands_round_trip(ins: int, p1: int, data: bytes, le: int | None) -> None:
    sam, card = _ends()
    protected = Command.parse(sam.protect_command(Command(0x00, ins, p1, 0, data, le)))
    assert protected.cla == 0x0C and protected.le == 256
    assert card.unprotect_command(protected) == Command(0x00, ins, p1, 0, data, le)
    assert sam.ssc == card.ssc == 0xFFFFFFFFFFFFFFFF


@given(st.binary(max_size=231), st.sampled_from([0x9000, 0x6282, 0x6A82]))
def test_responses_round_trip_and_fit_a_short_response(data: bytes, sw: int) -> None:
    sam, card = _ends(0xFFFFFFFFFFFFFFFF)
    protected = card.protect_response(Response(data, sw))
    assert len(protected) - 2 == protected_response_length(len(data)) <= 256
    assert protected[-2:] == sw.to_bytes(2, "big")
    assert sam.unprotect_response(protected) == Response(data, sw)
    assert sam.ssc == card.ssc == 0  # the counter wraps modulo 2**64


def test_232_plain_bytes_would_not_fit() -> None:
    assert protected_response_length(231) <= 256 < protected_response_length(232)


def test_response_with_a_rewritten_status_word_is_refused() -> None:
    sam, card = _ends()
    protected = card.protect_response(Response(b"x", 0x6A82))
    with pytest.raises(SmError) as caught:
        sam.unprotect_response(protected[:-2] + b"\x90\x00")
    assert caught.value.sw == 0x6988


def test_command_without_mac_is_missing_objects() -> None:
    _, card = _ends()
    with pytest.raises(SmError) as caught:
        card.unprotect_command(Command(0x0C, 0xB0, 0, 0, bytes.fromhex("970108"), 256))
    assert caught.value.sw == 0x6987
