from __future__ import annotations

from ktp_gateway.reader.smartcard.apdu import CommandApdu
from ktp_gateway.reader.smartcard.connection import processor_for
from tests.reader.scripted import ScriptedConnection


def test_61xx_is_followed_with_get_response_and_data_joined() -> None:
    conn = ScriptedConnection(
        [
            ("00B0000000", "AABB 6104"),
            ("00C0000004", "CCDDEEFF 6102"),
            ("00C0000002", "1122 9000"),
        ]
    )
    response = processor_for(conn).send_apdu(CommandApdu(0x00, 0xB0, le=256))
    assert response.data == bytes.fromhex("AABBCCDDEEFF1122") and response.ok
    assert conn.done()


def test_6cxx_resends_with_the_exact_le() -> None:
    conn = ScriptedConnection([("00B0000008", "6C03"), ("00B0000003", "010203 9000")])
    processor = processor_for(conn)
    response = processor.send_apdu(CommandApdu(0x00, 0xB0, le=8))
    assert response.data == b"\x01\x02\x03"
    assert processor.stats.apdus == 2 and processor.stats.by_ins[0xB0] == 2


def test_get_response_keeps_only_the_channel_bits_of_cla() -> None:
    conn = ScriptedConnection([("0DB0000000", "6101"), ("01C0000001", "FF 9000")])
    assert processor_for(conn).send_apdu(CommandApdu(0x0D, 0xB0, le=256)).data == b"\xff"


def test_error_status_passes_through_untouched() -> None:
    conn = ScriptedConnection([("00A4000002 7F0A", "6A82")])
    response = processor_for(conn).send_apdu(CommandApdu(0x00, 0xA4, data=bytes.fromhex("7F0A")))
    assert response.sw == 0x6A82 and response.data == b""
