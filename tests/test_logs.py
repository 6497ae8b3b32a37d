from __future__ import annotations

import json
import logging

import pytest
import structlog

from ktp_gateway.errors import ConfigurationError, DukcapilError, ErrorCode
from ktp_gateway.logs import configure_logging, redact, scrub


def test_nik_shaped_numbers_are_masked_and_blobs_dropped() -> None:
    assert scrub("lookup for 3171011505809901 failed") == "lookup for ************9901 failed"
    assert "redacted" in scrub("apdu 00A4000002" + "AB" * 40)
    assert scrub("phone 0812345678") == "phone 0812345678"


def test_only_allowed_keys_pass() -> None:
    event = redact(
        None, "info", {"event": "read", "reader": "r1", "nama": "BUDI CONTOH", "alamat": "JL"}
    )
    assert event == {"event": "read", "reader": "r1", "redacted_keys": 2}


def test_rendered_json_carries_no_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    log = structlog.get_logger("test")
    log.info("tap for 3171011505809901", nama="BUDI CONTOH", reader="Virtual PCD 00 00")
    try:
        raise DukcapilError("no record for 3171011505809901", code=ErrorCode.DUKCAPIL_NOT_FOUND)
    except DukcapilError:
        log.exception("lookup failed")
    logging.getLogger("uvicorn.error").warning("client sent 3171011505809901")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    text = json.dumps(lines)
    assert "3171011505809901" not in text and "BUDI" not in text
    assert lines[0]["reader"] == "Virtual PCD 00 00" and lines[0]["redacted_keys"] == 1
    assert (
        lines[1]["error_code"] == "dukcapil_not_found" and lines[1]["error_type"] == "DukcapilError"
    )
    assert "9901" in lines[2]["event"]


def test_apdu_trace_is_refused_without_the_development_switch() -> None:
    with pytest.raises(ConfigurationError):
        configure_logging("APDU")
    with pytest.warns(UserWarning, match="APDU TRACING"):
        configure_logging("APDU", allow_apdu_trace=True)
    configure_logging("INFO")
