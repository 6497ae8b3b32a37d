"""A verification: authenticate and read the card, ask Dukcapil about its NIK, compare each field.

Registry answers about the person (no record, deceased, blocked) are findings the officer needs,
so they are part of the result; answers about the service (down, timeout, credentials, quota)
are errors, because without the registry there is no verification.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ktp_gateway.compare import FieldMatch, compare
from ktp_gateway.domain import GrantedField, PersonData
from ktp_gateway.errors import DukcapilError, ErrorCode, GatewayError
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.reader.tap import CardReading


class Registry(Protocol):
    """What a verification needs of the Dukcapil client."""

    async def query_nik(self, nik: str) -> PersonData: ...


class RegistryStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    HOLDER_DECEASED = "holder_deceased"
    RECORD_BLOCKED = "record_blocked"


class Outcome(StrEnum):
    """The one-word answer an officer reads first."""

    VERIFIED = "verified"
    MISMATCH = "mismatch"
    NOT_IN_REGISTRY = "not_in_registry"
    HOLDER_DECEASED = "holder_deceased"
    RECORD_BLOCKED = "record_blocked"


_FINDINGS = {
    ErrorCode.DUKCAPIL_NOT_FOUND: RegistryStatus.NOT_FOUND,
    ErrorCode.DUKCAPIL_HOLDER_DECEASED: RegistryStatus.HOLDER_DECEASED,
    ErrorCode.DUKCAPIL_RECORD_BLOCKED: RegistryStatus.RECORD_BLOCKED,
}
_OUTCOMES = {
    RegistryStatus.NOT_FOUND: Outcome.NOT_IN_REGISTRY,
    RegistryStatus.HOLDER_DECEASED: Outcome.HOLDER_DECEASED,
    RegistryStatus.RECORD_BLOCKED: Outcome.RECORD_BLOCKED,
}


@dataclass(frozen=True, slots=True)
class Verification:
    """Everything one verification found; lives for one request only."""

    card: CardReading
    registry_status: RegistryStatus
    registry: PersonData | None
    comparison: dict[GrantedField, FieldMatch]
    outcome: Outcome
    registry_seconds: float
    total_seconds: float


async def ask_registry(registry: Registry, nik: str) -> tuple[RegistryStatus, PersonData | None]:
    """The record, or the finding (not found, deceased, blocked) that answers instead of it."""
    try:
        return RegistryStatus.FOUND, await registry.query_nik(nik)
    except DukcapilError as exc:
        status = _FINDINGS.get(exc.code)
        if status is None:
            raise
        return status, None


def _outcome(status: RegistryStatus, comparison: dict[GrantedField, FieldMatch]) -> Outcome:
    if status is not RegistryStatus.FOUND:
        return _OUTCOMES[status]
    if any(result is FieldMatch.MISMATCH for result in comparison.values()):
        return Outcome.MISMATCH
    return Outcome.VERIFIED


async def verify_tap(
    readers: ReaderService,
    registry: Registry,
    *,
    reader: str | None,
    wait_seconds: float,
    cancel: threading.Event | None = None,
) -> Verification:
    """One officer's tap, end to end; once `cancel` is set, nothing more reaches Dukcapil."""
    started = time.perf_counter()
    card = await readers.read(reader, wait_seconds=wait_seconds, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise GatewayError("cancelled after the card read", code=ErrorCode.VERIFICATION_CANCELLED)
    asked = time.perf_counter()
    status, record = await ask_registry(registry, card.person.nik)
    registry_seconds = time.perf_counter() - asked
    comparison = compare(card.person, record) if record is not None else {}
    return Verification(
        card=card,
        registry_status=status,
        registry=record,
        comparison=comparison,
        outcome=_outcome(status, comparison),
        registry_seconds=registry_seconds,
        total_seconds=time.perf_counter() - started,
    )
