"""The login probe: does Dukcapil accept our credentials? Asked without naming anyone.

Dukcapil's web service has no login or status call (shared/dukcapil-notes.md). Its CALL_NIK
checks, in order: user, password and IP given (code 09), the login (03), the caller's IP (04),
the daily quota (05), and only then the request's parameters (07). A CALL_NIK whose NIK is
*empty* is therefore answered "parameters incomplete" (07) exactly when everything before it
passed: no NIK is sent, nobody is looked up, and by that order no quota is spent (the simulator
spends none). Answers about the NIK itself (15 format, 13 not found) also come after the login,
so they count as accepted too. Pure: the client (client.py) sends, this module judges.

That order is taken from public notes and the simulator, not confirmed against the real service
(docs/operator-guide.md says so to operators).
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from enum import StrEnum

from ktp_gateway.dukcapil_client import messages as m
from ktp_gateway.dukcapil_client.interpret import Answer, envelope_of
from ktp_gateway.errors import ErrorCode

PROBE_NIK = ""  # the probe's NIK: none at all


class LoginVerdict(StrEnum):
    """What the probe's answer says of the credentials."""

    ACCEPTED = "accepted"  # login and caller IP passed
    REFUSED = "refused"  # credentials, IP or the agency refused
    LIMITED = "limited"  # login passed, but no query is served now (quota used up, hours)
    UNKNOWN = "unknown"  # an answer the message table does not place


@dataclass(frozen=True, slots=True)
class LoginProbe:
    """The verdict, with what the transport showed: time, the server's clock, its certificate."""

    verdict: LoginVerdict
    code: ErrorCode | None  # the refusal's code, None when Dukcapil refused nothing
    detail: str  # safe English, never a credential
    status: int
    seconds: float
    server_date: dt.datetime | None
    peer_certificate: bytes | None  # DER, over HTTPS


_ACCEPTED = (m.PARAMETERS, m.NIK_FORMAT, m.NOT_FOUND)
_LIMITED = (m.QUOTA, m.CODES["06"])
_REFUSED_CODES = (ErrorCode.DUKCAPIL_AUTH_FAILED, ErrorCode.DUKCAPIL_IP_NOT_ALLOWED)


def _meaning_verdict(meaning: m.Meaning | None) -> LoginVerdict:
    if meaning in _ACCEPTED:
        return LoginVerdict.ACCEPTED
    if meaning in _LIMITED:
        return LoginVerdict.LIMITED
    if meaning is not None and (meaning.code in _REFUSED_CODES or meaning is m.CODES["16"]):
        return LoginVerdict.REFUSED
    return LoginVerdict.UNKNOWN


def server_date(header: str | None) -> dt.datetime | None:
    """The HTTP Date header as an aware datetime; None when absent or malformed."""
    if not header:
        return None
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def judge(answer: Answer, seconds: float) -> LoginProbe:
    """The probe's verdict; an answer that is no envelope raises its `DukcapilError`."""
    envelope = envelope_of(answer)

    def probe(verdict: LoginVerdict, code: ErrorCode | None, detail: str) -> LoginProbe:
        return LoginProbe(
            verdict,
            code,
            detail,
            answer.status,
            seconds,
            server_date(answer.date),
            answer.peer_certificate,
        )

    if not envelope.content:
        return probe(LoginVerdict.UNKNOWN, None, "Dukcapil answered no record")
    refused = m.refusal(envelope.content[0])
    meaning = m.meaning(envelope.content[0])
    if refused is None:
        return probe(LoginVerdict.UNKNOWN, None, "Dukcapil answered data to a query without NIK")
    return probe(_meaning_verdict(meaning), refused.code, refused.detail)
