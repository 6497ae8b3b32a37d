from __future__ import annotations

import pytest

from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.reader.card.ktp_card import KtpCard
from ktp_gateway.reader.smartcard.connection import processor_for
from ktp_gateway.specs import load_specs
from tests.reader.scripted import ScriptedConnection

PROFILE = load_specs().cards["ktp-el"]


def _card(script: list[tuple[str, str]]) -> tuple[KtpCard, ScriptedConnection]:
    conn = ScriptedConnection(script)
    return KtpCard(processor_for(conn), PROFILE), conn


def test_plain_file_read_uses_length_prefix_and_spec_chunks() -> None:
    body = bytes(range(250)) + bytes(range(250))  # 500 bytes: 8 + 224 + 224 + 46 with the prefix
    content = len(body).to_bytes(2, "big") + body
    card, conn = _card(
        [
            ("00A4000002 6FF2", "9000"),
            ("00B0000008", content[:8].hex() + "9000"),
            ("00B00008E0", content[8:232].hex() + "9000"),
            ("00B000E8E0", content[232:456].hex() + "9000"),
            ("00B001C82E", content[456:].hex() + "9000"),
        ]
    )
    assert card.read_file("photo") == body
    assert conn.done()


def test_small_file_fits_in_the_first_read() -> None:
    card, _ = _card([("00A4000002 6FF0", "9000"), ("00B0000008", "0003 AABBCC 000000 9000")])
    assert card.read_file("card_control") == bytes.fromhex("AABBCC")


def test_protected_file_needs_authentication_first() -> None:
    card, conn = _card([])
    with pytest.raises(CardError) as caught:
        card.read_file("biodata")
    assert caught.value.code is ErrorCode.CARD_AUTH_FAILED and conn.sent == []


def test_missing_application_means_not_a_ktp_el() -> None:
    card, _ = _card([("00A4000002 7F0A", "6A82")])
    with pytest.raises(CardError) as caught:
        card.select_application()
    assert caught.value.code is ErrorCode.CARD_NOT_KTP_EL


def test_file_shorter_than_its_stated_length_is_invalid_data() -> None:
    card, _ = _card(
        [
            ("00A4000002 6FF2", "9000"),
            ("00B0000008", "0100" + "00" * 6 + "9000"),
            ("00B00008E0", "6B00"),
        ]
    )
    with pytest.raises(CardError) as caught:
        card.read_file("photo")
    assert caught.value.code is ErrorCode.CARD_DATA_INVALID


def test_uid_gets_the_profile_prefix() -> None:
    card, _ = _card([("FFCA000000", "04A1B2C3D4E5F6 9000")])
    assert card.read_uid() == bytes.fromhex("8004A1B2C3D4E5F6")


def test_atr_outside_the_profile_is_not_a_ktp_el() -> None:
    card, _ = _card([])
    card.check_atr(bytes.fromhex("3B8880014B54502D454C01FFFF"))
    with pytest.raises(CardError) as caught:
        card.check_atr(bytes.fromhex("3B8F8001804F0CA000000306030001000000006A"))
    assert caught.value.code is ErrorCode.CARD_NOT_KTP_EL
