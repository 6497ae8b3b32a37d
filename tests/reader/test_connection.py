from __future__ import annotations

import json

import pytest

from ktp_gateway.errors import CardError, ErrorCode, SamError
from ktp_gateway.observability.logs import configure_logging
from ktp_gateway.reader.smartcard.apdu import CommandApdu
from ktp_gateway.reader.smartcard.connection import Device, processor_for
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


def test_the_raw_edge_traces_each_apdu_only_at_the_apdu_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    processor_for(ScriptedConnection([("00B0000002", "AABB 9000")])).send_apdu(
        CommandApdu(0x00, 0xB0, le=2)
    )
    assert capsys.readouterr().err == ""  # no card traffic below the development switch
    configure_logging("APDU", json=True, allow_apdu_trace=True)
    processor_for(ScriptedConnection([("00B0000002", "AABB 9000")])).send_apdu(
        CommandApdu(0x00, 0xB0, le=2)
    )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    configure_logging("INFO", json=True)
    trace = [line for line in lines if line["level"] == "apdu"]
    assert [line["event"] for line in trace] == ["apdu >> 00 B0 00 00 02 << AA BB 90 00"]


def test_the_uid_pseudo_apdu_follows_6cxx_like_any_command() -> None:
    conn = ScriptedConnection([("FFCA000000", "6C04"), ("FFCA000004", "01020304 9000")])
    get_uid = CommandApdu.from_bytes(bytes.fromhex("FFCA000000"))
    assert processor_for(conn).send_apdu(get_uid).data == bytes.fromhex("01020304")
    assert conn.done()


def test_an_answer_longer_than_its_le_is_the_answering_partys_fault() -> None:
    conn = ScriptedConnection([("0084000008", "00" * 300 + "9000")])
    with pytest.raises(CardError) as caught:
        processor_for(conn).send_apdu(CommandApdu(0x00, 0x84, le=8))
    assert caught.value.code is ErrorCode.CARD_ERROR
    sam = ScriptedConnection([("00F7000008", "00" * 9 + "9000")])
    with pytest.raises(SamError) as blamed:
        processor_for(sam, device=Device.SAM).send_apdu(CommandApdu(0x00, 0xF7, le=8))
    assert blamed.value.code is ErrorCode.SAM_ERROR


def test_endless_chaining_stops_as_soon_as_it_passes_the_bound() -> None:
    script = [("FFCA000000", "AB" * 255 + "61FF")] + [("03C00000FF", "AB" * 255 + "61FF")] * 3
    conn = ScriptedConnection(script)
    processor = processor_for(conn)
    with pytest.raises(CardError):
        processor.send_apdu(CommandApdu.from_bytes(bytes.fromhex("FFCA000000")))
    assert processor.stats.apdus == 2  # 510 bytes > 256: no third GET RESPONSE
