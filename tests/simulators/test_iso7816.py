from __future__ import annotations

import contextlib
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.iso7816 import ApduError, Command, parse_tlvs, tlv, with_tck

SPECS = load_specs()


def _xor(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


@pytest.mark.parametrize(
    "template", [SPECS.cards["ktp-el"].atrs[0].value, SPECS.sams["ktp-el-sam"].atrs[0].value]
)
def test_tck_makes_t0_to_tck_xor_to_zero(template: bytes) -> None:
    atr = with_tck(template)
    assert len(atr) == len(template)
    assert atr[:-1] == template[:-1]
    assert _xor(atr[1:]) == 0  # ISO 7816-3: XOR of T0..TCK is zero


def test_tck_of_a_known_contactless_atr() -> None:
    # The ATR PC/SC readers synthesise for a MIFARE DESFire (historical byte 80, TCK 80).
    assert with_tck(bytes.fromhex("3B 81 80 01 80 00")) == bytes.fromhex("3B 81 80 01 80 80")


def test_t0_only_atr_has_no_tck() -> None:
    assert with_tck(bytes.fromhex("3B 02 14 50")) == bytes.fromhex("3B 02 14 50")


def test_truncated_atr_is_refused() -> None:
    with pytest.raises(ValueError):
        with_tck(bytes.fromhex("3B 88 80 01 4B"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00A40000027F0A", Command(0, 0xA4, 0, 0, b"\x7f\x0a")),
        ("00B0000008", Command(0, 0xB0, 0, 0, le=8)),
        ("00B0000000", Command(0, 0xB0, 0, 0, le=256)),
        ("0084000008", Command(0, 0x84, 0, 0, le=8)),
        ("00FF0000", Command(0, 0xFF, 0, 0)),
        ("00F3000002AABB00", Command(0, 0xF3, 0, 0, b"\xaa\xbb", 256)),
    ],
)
def test_command_cases_parse_and_reencode(raw: str, expected: Command) -> None:
    parsed = Command.parse(bytes.fromhex(raw))
    assert parsed == expected
    assert parsed.to_bytes() == bytes.fromhex(raw)


@pytest.mark.parametrize("raw", ["", "00", "00A400", "00A4000003AABB", "00A400000000"])
def test_malformed_commands_raise_apdu_error(raw: str) -> None:
    with pytest.raises(ApduError):
        Command.parse(bytes.fromhex(raw))


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=4))
def test_tlvs_round_trip(objects: list[tuple[int, bytes]]) -> None:
    assert parse_tlvs(b"".join(tlv(tag, value) for tag, value in objects)) == objects


@given(st.binary(max_size=64))
def test_tlv_parser_never_raises_anything_but_apdu_error(raw: bytes) -> None:
    with contextlib.suppress(ApduError):
        parse_tlvs(raw)
