"""Who asks and why: officer, purpose and case, required on every card or registry request.

Request models that touch a card or the registry inherit `Accountable`. The values go to the
audit trail (never to logs or metrics), so they are short, plain identifiers and never a NIK:
a run of exactly 16 digits is refused (an 18-digit NIP as officer id is fine). A missing or
malformed one is refused with `accountability_required` (api/errors.py); a purpose the
agreement does not list is refused by the policy with `purpose_not_in_agreement`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ktp_gateway.privacy.agreement import PURPOSE_PATTERN
from ktp_gateway.privacy.policy import Accountability

OFFICER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@/-]{0,63}$"
REGISTER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,79}$"
ACCOUNTABILITY_FIELDS = frozenset({"officer_id", "purpose", "nomor_register"})
_NIK_SHAPED = re.compile(r"(?<!\d)\d{16}(?!\d)")  # a NIP (18 digits) is fine


class Accountable(BaseModel):
    """Request part: the officer making the request, the purpose, the case register number."""

    model_config = ConfigDict(extra="forbid")

    officer_id: str = Field(
        pattern=OFFICER_PATTERN,
        description="The officer making the request (the agency's staff id, never a NIK); "
        "recorded in the audit trail.",
        examples=["PETUGAS-001"],
    )
    purpose: str = Field(
        pattern=PURPOSE_PATTERN,
        description="Why: a purpose code from the agreement in force (GET /v1/agreement).",
        examples=["perlindungan_saksi"],
    )
    nomor_register: str | None = Field(
        default=None,
        pattern=REGISTER_PATTERN,
        description="The agency's case register number, when the access serves a case.",
        examples=["REG-LPSK/2026/0001"],
    )

    @field_validator("officer_id", "nomor_register")
    @classmethod
    def _never_a_nik(cls, value: str | None) -> str | None:
        if value is not None and _NIK_SHAPED.search(value):
            raise ValueError("must not contain a NIK (a run of exactly 16 digits)")
        return value

    def accountability(self, client: str = "local") -> Accountability:
        """What the policy and the audit trail take from the request."""
        return Accountability(
            officer_id=self.officer_id,
            purpose=self.purpose,
            nomor_register=self.nomor_register,
            client=client,
        )
