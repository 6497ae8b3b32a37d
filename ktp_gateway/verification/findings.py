"""Registry findings: the one table from a Dukcapil answer about a person to what everyone says.

Dukcapil answers about the person (no record, several records, deceased, blocked, a NIK it does
not accept) are findings the officer needs, not service failures: a verification reports them
as its outcome, a NIK lookup as a typed error. Each finding has one `RegistryStatus` (what the
registry said, in API responses), one `Outcome` (the officer's one word) and one audit word (the
audit trail's `outcome`, which the semester report counts), whatever route asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ktp_gateway.errors import ErrorCode


class RegistryStatus(StrEnum):
    """What the registry said about the NIK."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    NIK_FORMAT_REJECTED = "nik_format_rejected"
    DUPLICATE_RECORDS = "duplicate_records"
    HOLDER_DECEASED = "holder_deceased"
    RECORD_BLOCKED = "record_blocked"


class Outcome(StrEnum):
    """The one-word answer an officer reads first."""

    VERIFIED = "verified"
    MISMATCH = "mismatch"
    NOT_IN_REGISTRY = "not_in_registry"
    NIK_FORMAT_REJECTED = "nik_format_rejected"
    DUPLICATE_RECORDS = "duplicate_records"
    HOLDER_DECEASED = "holder_deceased"
    RECORD_BLOCKED = "record_blocked"
    # Card and record agree, but the holder check asked for did not confirm the person present:
    HOLDER_MISMATCH = "holder_mismatch"  # the device said the finger is not the card's
    HOLDER_UNCHECKED = "holder_unchecked"  # a required check found no finger in time


@dataclass(frozen=True, slots=True)
class Finding:
    """One registry finding: the error code it arrives as, and what each layer calls it."""

    code: ErrorCode
    status: RegistryStatus
    outcome: Outcome

    @property
    def audit(self) -> str:
        """The audit trail's word for it (the semester report's `by_outcome` key)."""
        return self.outcome.value


FINDINGS = (
    Finding(ErrorCode.DUKCAPIL_NOT_FOUND, RegistryStatus.NOT_FOUND, Outcome.NOT_IN_REGISTRY),
    Finding(
        ErrorCode.DUKCAPIL_NIK_FORMAT_REJECTED,
        RegistryStatus.NIK_FORMAT_REJECTED,
        Outcome.NIK_FORMAT_REJECTED,
    ),
    Finding(
        ErrorCode.DUKCAPIL_DUPLICATE_RECORDS,
        RegistryStatus.DUPLICATE_RECORDS,
        Outcome.DUPLICATE_RECORDS,
    ),
    Finding(
        ErrorCode.DUKCAPIL_HOLDER_DECEASED, RegistryStatus.HOLDER_DECEASED, Outcome.HOLDER_DECEASED
    ),
    Finding(
        ErrorCode.DUKCAPIL_RECORD_BLOCKED, RegistryStatus.RECORD_BLOCKED, Outcome.RECORD_BLOCKED
    ),
)
_BY_CODE = {finding.code: finding for finding in FINDINGS}
_BY_STATUS = {finding.status: finding for finding in FINDINGS}
FOUND_AUDIT = "found"  # a NIK lookup that released the record


def finding_for(code: ErrorCode) -> Finding | None:
    """The finding an error code stands for, or None when it is a failure of the service."""
    return _BY_CODE.get(code)


def finding_of(status: RegistryStatus) -> Finding:
    """The finding behind a status other than FOUND."""
    return _BY_STATUS[status]
