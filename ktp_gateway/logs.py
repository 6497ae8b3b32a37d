"""Logging that cannot carry population data: structlog JSON with an allow-list before the renderer.

Only known-safe keys pass; any other key is dropped (and counted). Inside the values that pass,
anything shaped like a NIK is masked to its last four digits and long hex or base64 runs (APDUs,
photos, keys) are replaced by their length. Exceptions keep their type, stable code and frames,
never their locals. Raw APDU tracing sits below DEBUG and is refused unless explicitly allowed.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import MutableMapping
from typing import Any

import structlog

from ktp_gateway.errors import ConfigurationError, GatewayError
from ktp_gateway.nik import mask_nik

APDU = 5  # below DEBUG (10): raw APDU traffic, which carries personal data
logging.addLevelName(APDU, "APDU")

SAFE_KEYS = frozenset(
    {
        "event", "level", "timestamp", "logger", "request_id", "reader", "operation", "outcome",
        "code", "status", "duration_ms", "method", "path", "apdu_count", "attempt", "port", "pid",
        "profile", "version", "count", "error_type", "error_code", "error", "remaining", "host",
        "exception", "redacted_keys", "mode", "seconds", "limit", "state",
    }
)  # fmt: skip
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_BLOB = re.compile(r"[A-Za-z0-9+/=]{32,}")


def scrub(text: str) -> str:
    """Mask NIK-shaped numbers and long hex/base64 runs in free text."""
    text = _NIK.sub(lambda m: mask_nik(m.group()), text)
    return _BLOB.sub(lambda m: f"<redacted {len(m.group())} chars>", text)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(str(value))


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The allow-list: drop unknown keys, scrub the values that stay."""
    # `_record`/`_from_structlog` are structlog's own bookkeeping, removed before rendering.
    dropped = [key for key in event_dict if key not in SAFE_KEYS and not key.startswith("_")]
    for key in dropped:
        del event_dict[key]
    for key, value in event_dict.items():
        if key != "request_id" and not key.startswith("_"):  # our random hex id is no card blob
            event_dict[key] = _scrub_value(value)
    if dropped:
        event_dict["redacted_keys"] = len(dropped)
    return event_dict


def exception_summary(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace `exc_info` with the exception's type, code and a scrubbed message (no locals)."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if exc is not None:
            event_dict["error_type"] = type(exc).__name__
            if isinstance(exc, GatewayError):
                event_dict["error_code"] = exc.code.value
            event_dict["error"] = scrub(str(exc))[:300]
    return event_dict


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, allow_apdu_trace: bool = False
) -> None:
    """Route structlog and stdlib logging (uvicorn, httpx) through one redacting chain."""
    numeric = APDU if level.upper() == "APDU" else logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigurationError(f"unknown log level {level!r}")
    if numeric <= APDU:
        if not allow_apdu_trace:
            raise ConfigurationError(
                "APDU tracing prints personal data; it needs the development switch"
            )
        warnings.warn("APDU TRACING IS ON: logs will contain personal data", stacklevel=2)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if (json is False or (json is None and sys.stderr.isatty()))
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_summary,
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
