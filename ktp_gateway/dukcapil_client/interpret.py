"""From an HTTP answer to a query's records, or a typed DukcapilError: pure, no I/O.

Dukcapil refuses with HTTP 200 and a RESPON record (messages.py); a proxy on the closed network
answers with HTML pages, empty or broken bodies. Each of those is told apart here, and nothing
of the body is echoed into an error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import zoneinfo
from dataclasses import dataclass

from ktp_gateway.dukcapil_client.messages import DukcapilRefusal, refusal
from ktp_gateway.dukcapil_client.wire import Envelope, WireRecord, parse_envelope
from ktp_gateway.errors import DukcapilError, ErrorCode


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back over HTTP, before any interpretation."""

    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None
    date: str | None = None  # the server's Date header: `ktp-gateway doctor` measures clock skew
    peer_certificate: bytes | None = None  # DER, over HTTPS: the doctor reports its expiry


def _error(code: ErrorCode, detail: str) -> DukcapilError:
    return DukcapilError(detail, code=code)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def envelope_of(answer: Answer) -> Envelope:
    """The paging envelope of a query answer, or the typed reason there is none."""
    bad = ErrorCode.DUKCAPIL_BAD_RESPONSE
    if answer.status >= 500:
        raise _error(ErrorCode.DUKCAPIL_UNAVAILABLE, f"Dukcapil answered HTTP {answer.status}")
    if answer.status != 200:
        raise _error(bad, f"Dukcapil answered HTTP {answer.status} (check the URL settings)")
    if not answer.body.strip():
        raise _error(bad, "Dukcapil answered an empty body")
    if not _is_json(answer.content_type):
        raise _error(bad, "Dukcapil answered something other than JSON (a proxy page?)")
    try:
        data = json.loads(answer.body)
    except ValueError:
        raise _error(bad, "Dukcapil answered broken JSON") from None
    return parse_envelope(data)


def first_refusal(records: list[WireRecord]) -> DukcapilRefusal | None:
    """The refusal among the records, if Dukcapil refused (any record may carry it)."""
    for record in records:
        refused = refusal(record)
        if refused is not None:
            return refused
    return None


def retry_after_seconds(header: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds from `now` (delta-seconds or an HTTP date), None if absent/bad."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def next_daily_reset(now: dt.datetime, at: dt.time, zone: str) -> dt.datetime:
    """The next time the daily quota resets (`at` local time in `zone`), in UTC."""
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    candidate = dt.datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), at, tzinfo=local.tzinfo
        )
    return candidate.astimezone(dt.UTC)
