from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from ktp_gateway.domain import PersonData
from ktp_gateway.errors import ConfigurationError, DukcapilError, ErrorCode
from ktp_gateway.observability.logs import APDU, configure_logging, exception_summary, redact, scrub

NIK = "3171011505809901"  # a synthetic person's NIK (simulators/data/synthetic_people.yaml)
REDACTING = [exception_summary, redact]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; give the next test what it had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    logging.getLogger("uvicorn.access").disabled = False
    structlog.reset_defaults()


def _rendered(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_nik_shaped_numbers_are_masked_to_the_last_four_digits() -> None:
    assert scrub(f"lookup for {NIK} failed") == "lookup for ************9901 failed"
    assert scrub("NIK 3171 0115 0580 9901.") == "NIK ************9901."
    assert scrub("phone 0812345678, port 35963") == "phone 0812345678, port 35963"


def test_long_hex_and_base64_runs_become_their_size() -> None:
    assert scrub("apdu " + "AB" * 40) == "apdu <redacted 40 bytes>"
    assert scrub("photo " + "QUJD" * 10 + "==") == "photo <redacted 30 bytes>"
    assert scrub("sw 9000 cmd 00A4040C") == "sw 9000 cmd 00A4040C"


def test_unknown_keys_are_dropped_and_counted() -> None:
    with capture_logs(processors=REDACTING) as logs:
        structlog.get_logger().info(
            "read", reader="r1", nama="BUDI CONTOH", alamat="JL CONTOH", photo=b"\xff\xd8", _x=1
        )
    assert logs == [{"event": "read", "reader": "r1", "log_level": "info", "redacted_keys": 4}]


def test_a_nik_in_the_event_message_is_masked() -> None:
    with capture_logs(processors=REDACTING) as logs:
        structlog.get_logger().warning(f"no record for {NIK}")
    assert logs[0]["event"] == "no record for ************9901"


def test_allowed_keys_never_render_structures_or_bytes() -> None:
    person = PersonData(nik=NIK, nama_lengkap="BUDI CONTOH")
    event = redact(None, "info", {"event": "x", "outcome": person, "code": b"\x01\x02", "count": 3})
    assert event == {
        "event": "x",
        "outcome": "<redacted PersonData>",
        "code": "<redacted 2 bytes>",
        "count": 3,
    }


def test_an_exception_keeps_type_code_and_frames_but_not_its_nik() -> None:
    with capture_logs(processors=REDACTING) as logs:
        try:
            raise DukcapilError(f"no record for {NIK}", code=ErrorCode.DUKCAPIL_NOT_FOUND)
        except DukcapilError:
            structlog.get_logger().exception("lookup failed")
    (entry,) = logs
    assert NIK not in json.dumps(entry)
    assert entry["error_type"] == "DukcapilError"
    assert entry["error_code"] == "dukcapil_not_found"
    assert entry["error"] == "no record for ************9901"
    assert entry["frames"][-1].endswith(
        ":test_an_exception_keeps_type_code_and_frames_but_not_its_nik"
    )
    assert "exc_info" not in entry and "exception" not in entry


def test_rendered_json_carries_no_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    log = structlog.get_logger("ktp_gateway.test")
    log.info(f"tap for {NIK}", nama="BUDI CONTOH", reader="Virtual PCD 00 00")
    try:
        raise DukcapilError(f"no record for {NIK}", code=ErrorCode.DUKCAPIL_NOT_FOUND)
    except DukcapilError:
        log.exception("lookup failed", tanggal_lahir="1980-05-15")
    lines = _rendered(capsys)
    text = json.dumps(lines)
    assert NIK not in text and "BUDI" not in text and "1980" not in text
    assert lines[0]["event"] == "tap for ************9901"
    assert lines[0]["reader"] == "Virtual PCD 00 00" and lines[0]["redacted_keys"] == 1
    assert {"timestamp", "level", "logger"} <= lines[0].keys()
    assert lines[1]["error_code"] == "dukcapil_not_found"
    assert lines[1]["error_type"] == "DukcapilError"
    assert lines[1]["error"] == "no record for ************9901"


def test_stdlib_records_pass_the_same_chain(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", json=True)
    logging.getLogger("uvicorn.error").warning("client sent %s", NIK, extra={"nama": "BUDI"})
    try:
        raise ValueError(f"bad body {NIK}")
    except ValueError:
        logging.getLogger("httpx").exception("request failed")
    first, second = _rendered(capsys)
    assert first["event"] == "client sent ************9901" and first["redacted_keys"] == 1
    assert first["logger"] == "uvicorn.error" and first["level"] == "warning"
    assert second["error_type"] == "ValueError" and second["error"] == "bad body ************9901"
    assert "Traceback" not in json.dumps([first, second])


def test_levels_below_the_configured_one_are_not_rendered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("WARNING", json=True)
    structlog.get_logger("ktp_gateway.test").info("quiet")
    logging.getLogger("httpx").info("HTTP Request: POST https://dukcapil.example/x")
    assert capsys.readouterr().err == ""


def test_apdu_trace_is_refused_without_the_development_switch() -> None:
    with pytest.raises(ConfigurationError, match="development switch"):
        configure_logging("APDU")
    with pytest.raises(ConfigurationError):
        configure_logging("NOTSET")  # everything, APDU traffic included


def test_apdu_trace_with_the_switch_is_announced_loudly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("APDU", json=True, allow_apdu_trace=True)
    logging.getLogger("ktp_gateway.reader").log(APDU, "card <- 00B0000010")
    warning, trace = _rendered(capsys)
    assert warning["level"] == "warning" and "APDU TRACING IS ON" in warning["event"]
    assert trace["level"] == "apdu" and trace["event"] == "card <- 00B0000010"


def test_an_unknown_level_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown log level"):
        configure_logging("LOUD")
