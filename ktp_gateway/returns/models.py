"""The return-data item at the API boundary: formats of the register and decision numbers.

Formats (docs/return-data.md): a letter or digit, then letters, digits, spaces, `.`, `_`, `/`,
`-`; the nomor register up to 80 characters (the same rule as the request's accountability part,
so every register a verification accepts can be returned), the nomor SK rapat paripurna up to
100. A run of 16 digits is refused in both, so a NIK pasted into the wrong field is never stored
in the clear. Surrounding spaces are removed.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

_NIK_SHAPED = re.compile(r"\d{16}")


def _number(max_length: int) -> AfterValidator:
    shape = re.compile(rf"[A-Za-z0-9][A-Za-z0-9 ._/-]{{0,{max_length - 1}}}")

    def check(value: str) -> str:
        text = value.strip()
        if not shape.fullmatch(text):
            raise ValueError(
                f"1 to {max_length} letters, digits, spaces, '.', '_', '/', '-' "
                "(beginning with a letter or digit)"
            )
        if _NIK_SHAPED.search(text):
            raise ValueError("must not contain a NIK (16 digits in a row)")
        return text

    return AfterValidator(check)


def _documented(max_length: int) -> WithJsonSchema:
    """The format in the contract, as the lookup's accountability part documents it (the
    validator also accepts surrounding spaces, which it removes)."""
    pattern = rf"^[A-Za-z0-9][A-Za-z0-9 ._/-]{{0,{max_length - 1}}}$"
    return WithJsonSchema({"type": "string", "pattern": pattern, "maxLength": max_length})


NomorRegister = Annotated[str, _number(80), _documented(80)]
NomorSk = Annotated[str, _number(100), _documented(100)]


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


class ReturnDataCounts(BaseModel):
    """Items still in the outbox by status (every status, 0 when none)."""

    pending: int = 0
    delivering: int = 0
    dead: int = 0


class ReturnDataList(BaseModel):
    items: list[ReturnDataItem]
    counts: ReturnDataCounts
