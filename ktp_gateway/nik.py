"""NIK pre-checks before anything leaves the gateway (Dukcapil re-checks: its code 15)."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from ktp_gateway.errors import ErrorCode, RequestError

_SIXTEEN_ASCII_DIGITS = re.compile(r"[0-9]{16}")


class InvalidNikError(RequestError):
    """The NIK is not 16 digits, has an unknown region, or an impossible birth date."""

    code = ErrorCode.INVALID_NIK


def validate_nik(value: str) -> str:
    """Return the NIK in compact form, or raise `InvalidNikError` (never echoing the value)."""
    if not isinstance(value, str):
        raise InvalidNikError("NIK must be a string of 16 digits")
    # Exactly as typed: stdnum would drop spaces, dashes and dots and take other scripts' digits,
    # and a caller must learn that its NIK field holds something else than 16 digits.
    if _SIXTEEN_ASCII_DIGITS.fullmatch(value) is None:
        raise InvalidNikError("NIK must be exactly 16 ASCII digits (0-9), nothing else")
    try:
        compact = str(stdnum_nik.validate(value))
    except ValidationError as exc:
        # stdnum's message says which rule failed (length, digits, date, region); keep that only.
        raise InvalidNikError(f"NIK is not structurally valid: {exc}") from None
    # stdnum takes the day modulo 40, so 81-91 would pass; the rule is 1-31, or 41-71 for women.
    day = int(compact[6:8])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise InvalidNikError("NIK is not structurally valid: the day of birth is out of range")
    return compact


def mask_nik(value: str) -> str:
    """A NIK safe for logs and audit: only its last four digits."""
    return "*" * max(len(value) - 4, 0) + value[-4:]
