"""The return-data item at the API boundary: formats of the register and decision numbers.

Formats (docs/return-data.md): letters, digits, `.`, `/`, `-` and single inner spaces; starts and
ends with a letter or digit; at least one digit; the nomor register 3-64 characters, the nomor SK
rapat paripurna 3-100. A run of 16 or more digits is refused in both, so a NIK pasted into the
wrong field is never stored in the clear.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_SHAPE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9./-]| (?! ))*[A-Za-z0-9]")
_LONG_DIGITS = re.compile(r"\d{16,}")


def _number(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        text = value.strip()
        if not 3 <= len(text) <= max_length:
            raise ValueError(f"must be 3 to {max_length} characters")
        if not _SHAPE.fullmatch(text) or not any(c.isdigit() for c in text):
            raise ValueError("letters, digits, '.', '/', '-' and single spaces, with a digit")
        if _LONG_DIGITS.search(text):
            raise ValueError("must not contain a run of 16 or more digits (a NIK?)")
        return text

    return AfterValidator(check)


NomorRegister = Annotated[str, _number(64)]
NomorSk = Annotated[str, _number(100)]


class ReturnDataRequest(BaseModel):
    """`POST /v1/return-data`: one person whose data the agency accessed."""

    model_config = ConfigDict(extra="forbid")

    nik: str = Field(description="The 16-digit NIK the data was accessed for.")
    nomor_register: NomorRegister = Field(
        description="The agency's case register number.", examples=["REG-0042/LPSK/2026"]
    )
    nomor_sk_rapat_paripurna: NomorSk = Field(
        description="Number of the plenary-meeting decision letter.",
        examples=["SK-17/RP/LPSK/05/2026"],
    )


class ItemStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERING = "delivering"  # leased by a gateway that is sending it now
    DEAD = "dead"  # out of attempts: an operator retries it (`ktp-gateway returns retry`)


class ReturnDataItem(BaseModel):
    """An outbox item as operators see it: never the NIK beyond its last four digits."""

    id: str
    status: ItemStatus
    nik_masked: str | None = None
    nomor_register: str | None = None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime


class ReturnDataList(BaseModel):
    items: list[ReturnDataItem]
    counts: dict[str, int]
