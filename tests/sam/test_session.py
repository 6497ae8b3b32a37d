from __future__ import annotations

import pytest

from ktp_gateway.errors import CardError, ErrorCode, SamError
from ktp_gateway.reader.smartcard.apdu import CommandApdu, ResponseApdu
from ktp_gateway.reader.smartcard.connection import processor_for
from ktp_gateway.sam.activation import Activation
from ktp_gateway.sam.relay import SamRelayProcessor
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import load_specs
from tests.reader.scripted import ScriptedConnection

PROFILE = load_specs().sams["ktp-el-sam"]


def _sam(script: list[tuple[str, str]]) -> tuple[SamSession, ScriptedConnection]:
    conn = ScriptedConnection(script)
    return SamSession(processor_for(conn), PROFILE), conn


def test_open_data_is_pcid_xor_each_half_of_conf() -> None:
    activation = Activation(bytes(range(16)), bytes([0xFF] * 16 + [0x0F] * 16))
    data = activation.open_data(PROFILE.activation)
    assert data[:16] == bytes(b ^ 0xFF for b in range(16))
    assert data[16:] == bytes(b ^ 0x0F for b in range(16))
    assert "00" not in repr(activation)


def test_wrong_activation_values_mean_not_activated() -> None:
    sam, _ = _sam([("00F0000020" + "00" * 32, "6982")])
    with pytest.raises(SamError) as caught:
        sam.open(bytes(32))
    assert caught.value.code is ErrorCode.SAM_NOT_ACTIVATED


def test_locked_sam() -> None:
    sam, _ = _sam([("00F0000020" + "00" * 32, "6983")])
    with pytest.raises(SamError) as caught:
        sam.open(bytes(32))
    assert caught.value.code is ErrorCode.SAM_LOCKED


def test_authenticate_picks_p2_by_card_control_length() -> None:
    cc, uid, challenge = b"\x11" * 0x33, bytes.fromhex("8004A1B2C3D4E5F6"), b"\x22" * 8
    data = (cc + uid + challenge).hex()
    sam, _ = _sam([(f"00F10001{len(cc + uid + challenge):02X}{data}28", "AB" * 40 + "9000")])
    assert sam.authenticate(cc, uid, challenge) == b"\xab" * 40


def test_failed_verification_is_a_card_authentication_failure() -> None:
    sam, _ = _sam([("00F2000028" + "00" * 40, "6300")])
    with pytest.raises(CardError) as caught:
        sam.verify(bytes(40))
    assert caught.value.code is ErrorCode.CARD_AUTH_FAILED


def test_relay_wraps_sends_and_unwraps_with_the_doubled_status_word() -> None:
    plain = CommandApdu(0x00, 0xB0, 0, 0, le=8)
    sam_conn = ScriptedConnection(
        [
            ("00F3000005 00B0000008 00", "0CB00000 0D 9701088E08 1111111111111111 00 9000"),
            ("00F4000004 AABB9000 00", "0102030405060708 9000 9000"),
        ]
    )
    card_conn = ScriptedConnection([("0CB000000D9701088E08111111111111111100", "AABB 9000")])
    relay = SamRelayProcessor(
        processor_for(card_conn), SamSession(processor_for(sam_conn), PROFILE)
    )
    assert relay.send_apdu(plain) == ResponseApdu(bytes(range(1, 9)), 0x9000)


def test_relay_passes_a_bare_status_word_through() -> None:
    sam_conn = ScriptedConnection([("00F3000005 00B0000008 00", "0CB0000000 9000")])
    card_conn = ScriptedConnection([("0CB0000000", "6988")])
    relay = SamRelayProcessor(
        processor_for(card_conn), SamSession(processor_for(sam_conn), PROFILE)
    )
    assert relay.send_apdu(CommandApdu(0x00, 0xB0, le=8)).sw == 0x6988


def test_a_protected_command_the_sam_garbles_is_the_sams_error() -> None:
    plain = CommandApdu(0x00, 0xB0, le=8)
    sam, conn = _sam([("00F3000005" + plain.to_bytes().hex() + "00", "0CB0 9000")])
    with pytest.raises(SamError) as caught:
        sam.wrap(plain)
    assert caught.value.code is ErrorCode.SAM_ERROR and conn.done()


def test_the_relay_sends_the_protected_command_through_any_processor() -> None:
    plain = CommandApdu(0x00, 0xB0, le=8)
    protected = CommandApdu(0x0C, 0xB0, data=bytes.fromhex("970108 8E08") + bytes(8), le=256)
    sam, _ = _sam(
        [
            ("00F3000005" + plain.to_bytes().hex() + "00", protected.to_bytes().hex() + "9000"),
            ("00F4000004" + "AABB9000" + "00", "0102 9000 9000"),
        ]
    )
    card = ScriptedConnection([(protected.to_bytes().hex(), "AABB 9000")])
    answer = SamRelayProcessor(processor_for(card).inner, sam).send_apdu(plain)
    assert answer.data == bytes.fromhex("0102") and answer.ok and card.done()
