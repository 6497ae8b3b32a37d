"""Logging that cannot carry population data: structlog JSON with an allow-list before the renderer.

Only known-safe keys pass; any other key is dropped (and counted). Inside the values that pass,
anything shaped like a NIK is masked to its last four digits and long hex or base64 runs (APDUs,
photos, keys) are replaced by their size. Exceptions keep their type, stable code, a scrubbed
message and their frames (file:line:function), never their locals or source lines. Raw APDU
tracing sits below DEBUG and is refused unless the development switch allows it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from enum import Enum
from types import TracebackType
from typing import Any, TextIO

import structlog

from ktp_gateway.errors import ConfigurationError, GatewayError
from ktp_gateway.nik import mask_nik

APDU = 5  # below DEBUG (10): raw APDU traffic, which carries personal data
logging.addLevelName(APDU, "APDU")

# Keys whose values are safe to keep (after scrubbing). Extend here; anything else is dropped.
SAFE_KEYS = frozenset(
    {
        "event", "level", "timestamp", "logger", "request_id", "reader", "operation", "outcome",
        "code", "status", "duration_ms", "method", "path", "route", "apdu_count", "attempt", "port",
        "pid", "profile", "version", "count", "error_type", "error_code", "error", "frames",
        "remaining", "host", "redacted_keys", "mode", "seconds", "limit", "state", "reason",
        "response_code", "insecure_dev", "device", "client", "key_id", "desk", "readers", "days",
        "taps",
    }
)  # fmt: skip
_META_KEYS = frozenset({"_record", "_from_structlog"})  # structlog's own, removed before rendering
_UNSCRUBBED = frozenset({"request_id"})  # our own random hex id, not a card blob
_NIK = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){15,}(?!\d)")  # 16+ digits, optionally grouped
_BLOB = re.compile(r"[A-Za-z0-9+/=]{32,}")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_MAX_ERROR_CHARS = 300
_MAX_FRAMES = 20


def _blob_size(run: str) -> str:
    if len(run) % 2 == 0 and _HEX.fullmatch(run):
        return f"<redacted {len(run) // 2} bytes>"
    return f"<redacted {len(run.rstrip('=')) * 3 // 4} bytes>"  # base64


def scrub(text: str) -> str:
    """Mask NIK-shaped numbers and replace long hex/base64 runs in free text."""
    text = _NIK.sub(lambda m: mask_nik(re.sub(r"\D", "", m.group())), text)
    return _BLOB.sub(lambda m: _blob_size(m.group()), text)


def _clean(value: Any) -> Any:
    """Scalars pass (strings scrubbed); bytes and structures are never rendered."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Enum):
        return _clean(value.value)
    if isinstance(value, BaseException):
        return scrub(str(value))[:_MAX_ERROR_CHARS]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<redacted {len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return f"<redacted {type(value).__name__}>"  # its repr could hold anything (a PersonData)


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The allow-list: drop unknown keys, scrub the values that stay."""
    dropped = [key for key in event_dict if key not in SAFE_KEYS and key not in _META_KEYS]
    for key in dropped:
        del event_dict[key]
    for key, value in event_dict.items():
        if key not in _META_KEYS and key not in _UNSCRUBBED:
            event_dict[key] = _clean(value)
    if dropped:
        event_dict["redacted_keys"] = len(dropped)
    return event_dict


def _frames(tb: TracebackType | None) -> list[str]:
    """file:line:function of each frame; no source lines, no locals."""
    frames = [
        f"{'/'.join(frame.f_code.co_filename.split('/')[-2:])}:{line}:{frame.f_code.co_name}"
        for frame, line in traceback.walk_tb(tb)
    ]
    return frames[-_MAX_FRAMES:]


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):  # stdlib records carry (type, value, traceback)
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1] if exc_info else None


def exception_summary(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace `exc_info` with type, stable code, scrubbed message and frames (never locals)."""
    exc = _exception(event_dict.pop("exc_info", None))
    if exc is not None:
        event_dict["error_type"] = type(exc).__name__
        if isinstance(exc, GatewayError):
            event_dict["error_code"] = exc.code.value
        event_dict["error"] = scrub(str(exc))[:_MAX_ERROR_CHARS]
        event_dict["frames"] = _frames(exc.__traceback__)
    return event_dict


def _level_number(level: str, allow_apdu_trace: bool) -> int:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigurationError(f"unknown log level {level!r}")
    if numeric <= APDU and not allow_apdu_trace:
        raise ConfigurationError(
            "APDU tracing logs card traffic, which carries personal data: it needs the "
            "development switch (KTP_GATEWAY_LOG__ALLOW_APDU_TRACE=true), never in production"
        )
    return numeric


def _renderer(json: bool | None, stream: TextIO) -> Any:
    if json is False or (json is None and stream.isatty()):
        return structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.processors.JSONRenderer()


def _handler(stream: TextIO, renderer: Any) -> logging.StreamHandler[TextIO]:
    """The stdlib records' way out (uvicorn, aiohttp, the APDU trace), through the same chain."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    return handler


class _Sink:
    """Where the gateway's own events go: the stream of the handler `configure_logging` put on
    the root logger, under that handler's lock (a line from either path is written whole)."""

    def __init__(self) -> None:
        self.handler: logging.StreamHandler[TextIO] | None = None
        self.level = logging.INFO


_SINK = _Sink()
_METHOD_LEVELS = {
    "debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
    "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
    "critical": logging.CRITICAL, "fatal": logging.CRITICAL,
}  # fmt: skip


def _at_level(
    _logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The configured level, read per event: a logger cached earlier obeys a new configuration."""
    if _METHOD_LEVELS.get(method, logging.INFO) < _SINK.level:
        raise structlog.DropEvent
    return event_dict


class LineLogger:
    """structlog's logger for the gateway's events: the rendered line straight to the sink.

    Handing it to stdlib logging instead (a LogRecord, the formatter's copy of the event and
    its second pass) cost twice as much: 38 against 19 µs for the request's line (timeit).
    Like a stdlib handler, a stream that fails never fails the caller.
    """

    def __init__(self, name: str) -> None:
        self.name = name  # for add_logger_name

    def msg(self, line: str) -> None:
        handler = _SINK.handler
        if handler is None:
            return
        handler.acquire()
        try:
            handler.stream.write(line + "\n")
            handler.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: the event is lost, not the call
            pass
        finally:
            handler.release()

    debug = info = warning = warn = error = exception = critical = fatal = msg


def _line_logger(*args: Any) -> LineLogger:
    return LineLogger(str(args[0]) if args else "ktp_gateway")


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_summary,
        redact,  # last before the renderer: nothing added after it escapes the allow-list
    ]


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, allow_apdu_trace: bool = False
) -> None:
    """Route structlog and stdlib logging (uvicorn, httpx) through one redacting chain to stderr.

    `json=None` renders JSON unless stderr is a terminal. The APDU level is refused unless
    `allow_apdu_trace` (a development switch) is set, and then announced with a warning.
    """
    # uvicorn names level 5 "TRACE" when it is imported; APDU traffic keeps its own name here.
    logging.addLevelName(APDU, "APDU")
    numeric = _level_number(level, allow_apdu_trace)
    # Refill structlog's list in place: loggers cached on first use hold a reference to it.
    current = structlog.get_config()["processors"]
    processors: list[Any] = current if isinstance(current, list) else []
    stream = sys.stderr
    renderer = _renderer(json, stream)
    handler = _handler(stream, renderer)
    processors[:] = [_at_level, *_shared_processors(), renderer]
    _SINK.handler, _SINK.level = handler, numeric
    structlog.configure(
        processors=processors,
        logger_factory=_line_logger,
        # every level's method; the level itself is _at_level's, read per event
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # The API logs one canonical line per request (route template, no query string) instead.
    logging.getLogger("uvicorn.access").disabled = True
    if numeric <= APDU:
        structlog.get_logger("ktp_gateway.logs").warning(
            "APDU TRACING IS ON: card traffic carries personal data; development use only",
            mode="apdu_trace",
        )
