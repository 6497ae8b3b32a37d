"""Dukcapil's refusal messages, in one table: each known RESPON text and RESPONSE_CODE -> ErrorCode.

Refusals arrive with HTTP 200 as a record holding `RESPON` (legacy text style) or
`RESPONSE_CODE` / `RESPONSE_DESC` / `RESPONSE` (coded style); a record without them is data
(shared/dukcapil-notes.md). A message newly seen in production is one line in `TEXTS` or `CODES`.
An unknown message is its own outcome (`dukcapil_unknown_response`) carrying the text.

Decisions recorded here:
- Deceased holder (code 11): the record is NOT released, even when the coded style sends it
  alongside the code; callers get `dukcapil_holder_deceased` and report it as a finding.
- Duplicate records (code 12): integrators disagree; the gateway cannot tell which record is the
  person, so nothing is released, and the finding has its own code (`dukcapil_duplicate_records`).
- NIK not in Dukcapil's format (code 15): a NIK that passed the gateway's structural pre-check but
  not Dukcapil's; its own code (`dukcapil_nik_format_rejected`), apart from "no record" (13).
  The legacy style words it exactly as code 13 ("Data Tidak Ditemukan"), so there it is not_found.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ktp_gateway.dukcapil_client.wire import WireRecord
from ktp_gateway.errors import DukcapilError, ErrorCode

C = ErrorCode


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a message means: an error code (None: data found) and a safe English detail."""

    code: ErrorCode | None
    detail: str


FOUND = Meaning(None, "data found")
NOT_FOUND = Meaning(C.DUKCAPIL_NOT_FOUND, "no record for this NIK")
DECEASED = Meaning(C.DUKCAPIL_HOLDER_DECEASED, "record found, holder deceased")
INACTIVE = Meaning(C.DUKCAPIL_RECORD_BLOCKED, "record found but inactive")
LOGIN = Meaning(C.DUKCAPIL_AUTH_FAILED, "login failed (user ID or password)")
IP = Meaning(C.DUKCAPIL_IP_NOT_ALLOWED, "caller IP not on Dukcapil's allow-list")
QUOTA = Meaning(C.DUKCAPIL_QUOTA_EXHAUSTED, "daily access quota used up")
PARAMETERS = Meaning(C.DUKCAPIL_REJECTED, "request parameters incomplete or invalid")
NIK_FORMAT = Meaning(C.DUKCAPIL_NIK_FORMAT_REJECTED, "NIK not in Dukcapil's format")
DUPLICATES = Meaning(C.DUKCAPIL_DUPLICATE_RECORDS, "several records for this NIK (data ganda)")

# RESPONSE_CODE (coded style), two digits as Dukcapil sends them.
CODES: dict[str, Meaning] = {
    "01": FOUND,
    "03": LOGIN,
    "04": IP,
    "05": QUOTA,
    "06": Meaning(C.DUKCAPIL_REJECTED, "outside the allowed access time"),
    "07": PARAMETERS,
    "08": Meaning(C.DUKCAPIL_REJECTED, "NIK cannot be processed"),
    "09": Meaning(C.DUKCAPIL_AUTH_FAILED, "user, password or IP empty"),
    "10": Meaning(C.DUKCAPIL_IP_NOT_ALLOWED, "invalid caller IP"),
    "11": DECEASED,
    "12": DUPLICATES,
    "13": NOT_FOUND,
    "14": INACTIVE,
    "15": NIK_FORMAT,
    "16": Meaning(C.DUKCAPIL_REJECTED, "agency not active at Dukcapil"),
    "17": Meaning(C.DUKCAPIL_AUTH_FAILED, "user ID not active"),
}

# RESPON texts, keyed in normalised form (see `normalise`). The coded style's descriptions are
# here too, for deployments that send them as RESPON without a code.
TEXTS: dict[str, Meaning] = {
    "data tidak ditemukan": NOT_FOUND,
    "ip address tidak sesuai": IP,
    "login gagal": LOGIN,
    "kuota akses hari ini telah habis": QUOTA,
    "ip client tidak terdaftar": IP,
    "ip tidak sesuai": IP,
    "parameter tidak lengkap / tidak valid": CODES["07"],
    "user, password dan ip tidak boleh kosong": CODES["09"],
    "data ditemukan, meninggal dunia": DECEASED,
    "data ditemukan, data ganda": CODES["12"],
    "data tidak ditemukan, nik tidak terdapat di database kependudukan": NOT_FOUND,
    "data ditemukan, status non aktif silahkan hubungi dinas dukcapil": INACTIVE,
    "data tidak ditemukan, nik tidak sesuai format dukcapil": CODES["15"],
    "instansi tidak aktif": CODES["16"],
    "user id tidak aktif": CODES["17"],
}

_SPACES = re.compile(r"\s+")
_DIGIT_RUNS = re.compile(r"\d{6,}")
_MAX_TEXT = 200


def normalise(text: str) -> str:
    """Match RESPON case-insensitively with runs of spaces collapsed (notes)."""
    return _SPACES.sub(" ", text).strip().casefold()


def _safe(text: str) -> str:
    # An unknown message is reported as-is for operators, but a long digit run could only be a
    # NIK or KK number echoed by a misbehaving upstream, so it is blanked, and the length capped.
    return _DIGIT_RUNS.sub("[digits]", _SPACES.sub(" ", text).strip())[:_MAX_TEXT]


class DukcapilRefusal(DukcapilError):
    """Dukcapil answered, and refused: `message` is its RESPON text, `response_code` its code."""

    def __init__(
        self, code: ErrorCode, detail: str, *, message: str | None, response_code: str | None
    ) -> None:
        super().__init__(f"Dukcapil refused: {detail}", code=code)
        self.message = message
        self.response_code = response_code
        # Quota refusals: when the daily quota resets, if known (Retry-After or the settings).
        self.resets_at: dt.datetime | None = None
        self.retry_after_seconds: float | None = None


def refusal(record: WireRecord) -> DukcapilRefusal | None:
    """The typed refusal a record stands for, or None when it is data (found)."""
    meaning = _meaning(record)
    if meaning is None or meaning.code is None:
        return None
    text = _text(record)
    return DukcapilRefusal(
        meaning.code,
        meaning.detail,
        message=_safe(text) if text else None,
        response_code=_safe(record.response_code) if record.response_code else None,
    )


def meaning(record: WireRecord) -> Meaning | None:
    """What a record means (None: plain data); the login probe tells its refusals apart by it."""
    return _meaning(record)


def _text(record: WireRecord) -> str | None:
    return record.respon or record.response or record.response_desc


def _meaning(record: WireRecord) -> Meaning | None:
    text = _text(record)
    if record.response_code is not None:
        # The code decides when there is one; "1" and "01" are the same code.
        number = record.response_code.strip()
        number = number.zfill(2) if number.isdigit() else number
        return CODES.get(number) or _unknown(text, number)
    if record.respon is not None or record.response is not None:
        return TEXTS.get(normalise(text or "")) or _unknown(text, None)
    return None


def _unknown(text: str | None, number: str | None) -> Meaning:
    parts = [f"code {_safe(number)}" if number else "", f"'{_safe(text)}'" if text else ""]
    said = " ".join(part for part in parts if part) or "an empty message"
    return Meaning(C.DUKCAPIL_UNKNOWN_RESPONSE, f"unknown response {said}")
